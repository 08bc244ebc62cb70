#include "control/function_name.h"

#include <algorithm>
#include <vector>

namespace hearth::control {

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

namespace {

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

bool isAccountId(std::string_view s) {
  return s.size() == 12 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// [a-z]{2}(-gov)?-[a-z]+-\d, e.g. us-east-1, us-gov-west-1.
bool isRegion(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t pos; (pos = s.find('-', start)) != std::string_view::npos; start = pos + 1) {
    parts.push_back(s.substr(start, pos - start));
  }
  parts.push_back(s.substr(start));
  auto lower = [](std::string_view w) {
    return !w.empty() &&
           std::all_of(w.begin(), w.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  };
  if (parts.size() != 3 && !(parts.size() == 4 && parts[1] == "gov")) return false;
  const std::string_view& digit = parts.back();
  return parts[0].size() == 2 && lower(parts[0]) && lower(parts[parts.size() - 2]) &&
         digit.size() == 1 && digit[0] >= '0' && digit[0] <= '9';
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

std::string functionArn(std::string_view region, std::string_view account_id, std::string_view name,
                        std::string_view qualifier) {
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
    if (!isAccountId(p[0])) return invalidName(input);
    arn_account = p[0];
    name = p[2];
    if (p.size() == 4) qualifier = p[3];
  } else if (p.size() >= 7 && p.size() <= 8 && p[0] == "arn" && p[1].starts_with("aws") &&
             p[2] == "lambda" && isRegion(p[3]) && isAccountId(p[4]) &&
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
  if ((!arn_account.empty() && arn_account != account_id) ||
      (!arn_region.empty() && arn_region != region)) {
    return makeError(ErrorCode::kNotFound,
                     std::string(kFunctionNotFoundPrefix) + std::string(input));
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
