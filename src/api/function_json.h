// JSON of the function operations: rendering FunctionConfiguration exactly as Lambda does, and
// reading the bodies of CreateFunction, UpdateFunctionConfiguration, UpdateFunctionCode and
// Put/UpdateFunctionEventInvokeConfig into control-plane values with Lambda's type checks.
//
// Parsing rules, shared by every operation:
//   - a body that is not a JSON object → kInvalidRequestContent ("Could not parse request body
//     into json: ...");
//   - a known field of the wrong JSON type → kInvalidParameter, naming the field as Lambda does
//     ("... at 'memorySize' ...");
//   - JSON null is the same as an absent field; unknown fields are ignored, as Lambda ignores
//     the ones it does not act on (Tags, TracingConfig, VpcConfig, ...);
//   - features Hearth lacks (code from S3, container images, layers, arm64, publishing versions)
//     → kUnsupported with a message saying so.
// Range checks (MemorySize, Timeout, ...) are the control plane's (control::applySettings), so
// they are applied identically however a setting arrives.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/function.h"
#include "control/function_service.h"

namespace hearth::api {

// FunctionConfiguration for `f`. FunctionArn is unqualified unless `qualifier` is given (Lambda
// qualifies it when the request named a qualifier, "$LATEST" included).
nlohmann::json functionConfigurationJson(const control::Function& f, std::string_view region,
                                         std::string_view qualifier = {});

// The body as a JSON object. An empty body is an empty object (clients send none for operations
// whose fields are all optional). Otherwise kInvalidRequestContent.
Result<nlohmann::json> parseJsonObject(std::string_view body);

// Readers of request members, shared by every operation's parser. `path` names the member in
// messages as Lambda does ("deadLetterConfig.targetArn").
// The member `field` of `obj`, or nullptr when absent or null.
const nlohmann::json* member(const nlohmann::json& obj, std::string_view field);
// kInvalidParameter: "... at '<path>' failed to satisfy constraint: Member must be <expected>".
Error typeError(std::string_view path, std::string_view expected);
// The string member `field` (absent or null → nullopt); kInvalidParameter if not a string.
Result<std::optional<std::string>> optionalString(const nlohmann::json& obj, std::string_view field,
                                                  std::string_view path);

// The integer member `field` of `obj` (absent or null → nullopt); `path` names it in messages
// ("reservedConcurrentExecutions"). Values beyond int64 are clamped so range checks report them.
// kInvalidParameter if it is not an integer.
Result<std::optional<int64_t>> optionalInteger(const nlohmann::json& obj, std::string_view field,
                                               std::string_view path);

struct CreateFunctionInput {
  std::string function_name;  // as sent: a name or an ARN, resolved by the caller
  control::FunctionSettings settings;
  control::CodeSource code;  // decoded Code.ZipFile, or Code.ImageUri with PackageType Image
};

// Requires FunctionName, Role and Code (ZipFile, or ImageUri with PackageType Image).
Result<CreateFunctionInput> parseCreateFunction(std::string_view body);

struct UpdateConfigurationInput {
  control::FunctionSettings settings;
  std::string revision_id;  // empty: no precondition
};

Result<UpdateConfigurationInput> parseUpdateFunctionConfiguration(std::string_view body);

struct UpdateCodeInput {
  control::CodeSource code;  // decoded ZipFile, or ImageUri
  std::string revision_id;   // empty: no precondition
  bool dry_run = false;
};

// Requires ZipFile or ImageUri.
Result<UpdateCodeInput> parseUpdateFunctionCode(std::string_view body);

// Put/UpdateFunctionEventInvokeConfig: MaximumRetryAttempts, MaximumEventAgeInSeconds and
// DestinationConfig.{OnSuccess,OnFailure}.Destination (an empty {} removes a destination).
Result<control::EventInvokeConfigSettings> parseEventInvokeConfig(std::string_view body);

}  // namespace hearth::api
