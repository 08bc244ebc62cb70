#include "control/function_name.h"

#include <vector>

namespace hearth::control {
namespace {

std::vector<std::string_view> splitColons(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(':', start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

bool isValidQualifier(std::string_view q) {
  if (q == "$LATEST") return true;
  if (q.empty() || q.size() > 128) return false;
  for (char c : q) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Error invalidName(std::string_view input) {
  return makeError(ErrorCode::kInvalidParameter,
                   "1 validation error detected: Value '" + std::string(input) +
                       "' at 'functionName' failed to satisfy constraint: Member must satisfy "
                       "regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?"
                       "-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)"
                       "(:(\\$LATEST|[a-zA-Z0-9-_]+))?");
}

}  // namespace

bool isValidFunctionName(std::string_view name) {
  if (name.empty() || name.size() > kMaxFunctionNameLength) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string functionArn(std::string_view region, std::string_view account_id,
                        std::string_view name, std::string_view qualifier) {
  std::string arn = "arn:aws:lambda:";
  arn += region;
  arn += ':';
  arn += account_id;
  arn += ":function:";
  arn += name;
  if (!qualifier.empty()) {
    arn += ':';
    arn += qualifier;
  }
  return arn;
}

Result<FunctionRef> parseFunctionRef(std::string_view input, std::string_view query_qualifier,
                                     std::string_view account_id, std::string_view region) {
  if (input.empty() || input.size() > 170) return invalidName(input);
  std::vector<std::string_view> p = splitColons(input);
  std::string_view name;
  std::string_view qualifier;
  std::string_view arn_account;
  std::string_view arn_region;
  if (p.size() <= 2) {  // name[:qualifier]
    name = p[0];
    if (p.size() == 2) qualifier = p[1];
  } else if (p.size() <= 4 && p[1] == "function") {  // account:function:name[:qualifier]
    arn_account = p[0];
    name = p[2];
    if (p.size() == 4) qualifier = p[3];
  } else if (p.size() >= 7 && p.size() <= 8 && p[0] == "arn" && p[2] == "lambda" &&
             p[5] == "function") {  // arn:aws:lambda:region:account:function:name[:qualifier]
    arn_region = p[3];
    arn_account = p[4];
    name = p[6];
    if (p.size() == 8) qualifier = p[7];
  } else {
    return invalidName(input);
  }
  if (!isValidFunctionName(name)) return invalidName(input);
  if (p.size() != 1 && p.size() != 3 && p.size() != 7 && !isValidQualifier(qualifier)) {
    return invalidName(input);
  }
  if (!arn_account.empty() && arn_account.size() != 12) return invalidName(input);
  if ((!arn_account.empty() && arn_account != account_id) ||
      (!arn_region.empty() && arn_region != region)) {
    return makeError(ErrorCode::kNotFound,
                     "Function not found: " + std::string(input));
  }
  if (!query_qualifier.empty()) {
    if (!isValidQualifier(query_qualifier)) {
      return makeError(ErrorCode::kInvalidParameter,
                       "1 validation error detected: Value '" + std::string(query_qualifier) +
                           "' at 'qualifier' failed to satisfy constraint: Member must satisfy "
                           "regular expression pattern: (|[a-zA-Z0-9$_-]+)");
    }
    if (!qualifier.empty() && qualifier != query_qualifier) {
      return makeError(ErrorCode::kInvalidParameter,
                       "The derived qualifier from the function name does not match the "
                       "specified qualifier.");
    }
    qualifier = query_qualifier;
  }
  return FunctionRef{std::string(name), std::string(qualifier)};
}

}  // namespace hearth::control
