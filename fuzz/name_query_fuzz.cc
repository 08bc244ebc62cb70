// Fuzzes the two parsers that read the request target of every API call after SigV4: the
// {FunctionName} path segment (control::parseFunctionRef, src/control/function_name.h) and the
// query string (http::parseQuery, src/http/query.h).
//
// Properties checked:
//   - parseFunctionRef: an accepted reference has a valid name and an empty or valid qualifier,
//     and the ARN built from it (functionArn) parses back to the same reference;
//   - parseQuery: re-encoding the decoded pairs (uriEncode) and parsing again gives the same
//     pairs; splitTarget's two parts and the '?' rebuild the target.
//
// Input layout: the last byte's low bit picks the parser. Function reference: a qualifier for
// ?Qualifier= (FuzzedDataProvider's random-length string, ended by a backslash and one more byte),
// then the name. Query: all but the last byte is a request target.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "common/encoding.h"
#include "control/function_name.h"
#include "http/query.h"

namespace {

namespace control = hearth::control;
namespace http = hearth::http;

constexpr std::string_view kAccount = "123456789012";
constexpr std::string_view kRegion = "us-east-1";

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void fuzzFunctionRef(std::string_view input, std::string_view query_qualifier) {
  hearth::Result<control::FunctionRef> ref =
      control::parseFunctionRef(input, query_qualifier, kAccount, kRegion);
  if (!ref) {
    require(!ref.error().message.empty());
    return;
  }
  require(control::isValidFunctionName(ref->name));
  if (!query_qualifier.empty()) require(ref->qualifier == query_qualifier);
  const std::string arn = control::functionArn(kRegion, kAccount, ref->name, ref->qualifier);
  if (arn.size() > 170) return;  // a long name and qualifier fit bare but not as an ARN
  hearth::Result<control::FunctionRef> again =
      control::parseFunctionRef(arn, "", kAccount, kRegion);
  require(again.ok());
  require(again->name == ref->name && again->qualifier == ref->qualifier);
}

void fuzzQuery(std::string_view target) {
  const http::TargetParts parts = http::splitTarget(target);
  if (target.find('?') == std::string_view::npos) {
    require(parts.path == target && parts.query.empty());
  } else {
    require(std::string(parts.path) + "?" + std::string(parts.query) == target);
  }
  hearth::Result<http::QueryParams> params = http::parseQuery(parts.query);
  if (!params) return;
  std::string rebuilt;
  for (const auto& [name, value] : params->entries()) {
    if (!rebuilt.empty()) rebuilt.push_back('&');
    rebuilt += hearth::uriEncode(name, /*keep_slash=*/false);
    rebuilt.push_back('=');
    rebuilt += hearth::uriEncode(value, /*keep_slash=*/false);
  }
  hearth::Result<http::QueryParams> again = http::parseQuery(rebuilt);
  require(again.ok());
  require(again->entries() == params->entries());
  if (!params->entries().empty()) {
    const auto& [first_name, first_value] = params->entries().front();
    require(params->get(first_name) == std::optional<std::string_view>(first_value));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const bool function_ref = fdp.ConsumeBool();
  if (function_ref) {
    const std::string query_qualifier = fdp.ConsumeRandomLengthString(200);
    const std::string input = fdp.ConsumeRemainingBytesAsString();
    fuzzFunctionRef(input, query_qualifier);
  } else {
    fuzzQuery(fdp.ConsumeRemainingBytesAsString());
  }
  return 0;
}
