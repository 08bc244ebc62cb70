// CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
// UpdateFunctionConfiguration, DeleteFunction.
//
// Only $LATEST exists until versions are implemented: a request qualified with "$LATEST" is
// answered as the unqualified one (with a qualified FunctionArn); any other qualifier names a
// version or alias that cannot exist, so reads answer ResourceNotFoundException and deletes say
// versions are not supported.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "api/function_json.h"
#include "api/handlers.h"
#include "common/encoding.h"
#include "common/offload.h"

namespace hearth::api {
namespace {

using boost::beast::http::status;
using nlohmann::json;

constexpr std::string_view kLatest = "$LATEST";
constexpr int64_t kDefaultMaxItems = 50;
constexpr int64_t kMaxMaxItems = 10000;

// The function `c` names at its qualifier. kNotFound for a qualifier other than $LATEST.
Result<control::FunctionPtr> lookup(const Call& c) {
  if (!c.function->qualifier.empty() && c.function->qualifier != kLatest) {
    return makeError(ErrorCode::kNotFound, "Function not found: " + c.function->name);
  }
  return c.deps.functions.get(c.caller.account_id, c.function->name);
}

Result<void> checkUploadSize(const Call& c, std::string_view operation) {
  if (c.req.body().size() > kMaxRequestBodyBytes) {
    return makeError(ErrorCode::kEntityTooLarge,
                     "Request must be smaller than " + std::to_string(kMaxRequestBodyBytes) +
                         " bytes for the " + std::string(operation) + " operation");
  }
  return {};
}

}  // namespace

Result<int64_t> parseMaxItems(std::optional<std::string_view> text, int64_t default_items) {
  if (!text) return default_items;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < 1 ||
      value > kMaxMaxItems) {
    return makeError(ErrorCode::kInvalidParameter,
                     "1 validation error detected: Value '" + std::string(*text) +
                         "' at 'maxItems' failed to satisfy constraint: Member must have value "
                         "between 1 and " +
                         std::to_string(kMaxMaxItems));
  }
  return value;
}

HandlerResult createFunction(Call& c) {
  if (Result<void> size = checkUploadSize(c, "CreateFunction"); !size) co_return size.error();
  Result<CreateFunctionInput> in = parseCreateFunction(c.req.body());
  if (!in) co_return in.error();
  // FunctionName may be a name or an ARN in this account and region; never qualified.
  Result<control::FunctionRef> ref =
      control::parseFunctionRef(in->function_name, "", c.caller.account_id, c.deps.region);
  if (!ref) co_return ref.error();
  if (!ref->qualifier.empty()) {
    co_return makeError(
        ErrorCode::kInvalidParameter,
        "CreateFunction takes an unqualified function name, not '" + in->function_name + "'.");
  }
  const std::string& account = c.caller.account_id;
  Result<control::FunctionPtr> f = co_await offload(c.deps.blocking, [&] {
    return c.deps.functions.create(account, ref->name, in->settings, in->code);
  });
  if (!f) co_return f.error();
  co_return jsonResponse(status::created, functionConfigurationJson(**f, c.deps.region));
}

HandlerResult getFunction(Call& c) {
  Result<control::FunctionPtr> f = lookup(c);
  if (!f) co_return f.error();
  json body = json::object();
  body["Configuration"] = functionConfigurationJson(**f, c.deps.region, c.function->qualifier);
  if ((*f)->package_type == "Image") {
    // Lambda names ECR here; the image is whichever registry ImageUri named.
    body["Code"] = {{"RepositoryType", "ECR"},
                    {"ImageUri", (*f)->image_uri},
                    {"ResolvedImageUri", (*f)->resolved_image_uri}};
  } else {
    body["Code"] = {{"RepositoryType", "S3"},
                    {"Location", presignCodeUrl(c.deps, c.req[boost::beast::http::field::host],
                                                (*f)->code_id, std::chrono::system_clock::now())}};
  }
  if ((*f)->reserved_concurrency) {
    body["Concurrency"] = {{"ReservedConcurrentExecutions", *(*f)->reserved_concurrency}};
  }
  co_return jsonResponse(status::ok, body);
}

HandlerResult getFunctionConfiguration(Call& c) {
  Result<control::FunctionPtr> f = lookup(c);
  if (!f) co_return f.error();
  co_return jsonResponse(status::ok,
                         functionConfigurationJson(**f, c.deps.region, c.function->qualifier));
}

// Markers are opaque to clients: the base64 of the last name returned. Names sort in the same
// order the service lists them, so the next page starts after that name.
HandlerResult listFunctions(Call& c) {
  Result<int64_t> max_items = parseMaxItems(c.query.get("MaxItems"), kDefaultMaxItems);
  if (!max_items) co_return max_items.error();
  std::optional<std::string_view> version = c.query.get("FunctionVersion");
  if (version && *version != "ALL") {
    co_return makeError(ErrorCode::kInvalidParameter,
                        "1 validation error detected: Value '" + std::string(*version) +
                            "' at 'functionVersion' failed to satisfy constraint: Member must "
                            "satisfy enum value set: [ALL]");
  }
  std::string after;
  if (std::optional<std::string_view> marker = c.query.get("Marker"); marker && !marker->empty()) {
    std::optional<std::string> name = base64Decode(*marker);
    if (!name || !control::isValidFunctionName(*name)) {
      co_return makeError(ErrorCode::kInvalidParameter,
                          "Invalid Marker: pass the NextMarker of a previous ListFunctions "
                          "response.");
    }
    after = std::move(*name);
  }

  std::vector<control::FunctionPtr> all = c.deps.functions.list(c.caller.account_id);
  auto it = all.begin();
  if (!after.empty()) {
    it = std::upper_bound(
        all.begin(), all.end(), after,
        [](const std::string& name, const control::FunctionPtr& f) { return name < f->name; });
  }
  json functions = json::array();
  for (; it != all.end() && static_cast<int64_t>(functions.size()) < *max_items; ++it) {
    functions.push_back(functionConfigurationJson(**it, c.deps.region));
  }
  json body = {{"Functions", std::move(functions)}};
  if (it != all.end()) body["NextMarker"] = base64Encode((*std::prev(it))->name);
  co_return jsonResponse(status::ok, body);
}

HandlerResult updateFunctionConfiguration(Call& c) {
  Result<UpdateConfigurationInput> in = parseUpdateFunctionConfiguration(c.req.body());
  if (!in) co_return in.error();
  const std::string& account = c.caller.account_id;
  Result<control::FunctionPtr> f = co_await offload(c.deps.blocking, [&] {
    return c.deps.functions.updateConfiguration(account, c.function->name, in->settings,
                                                in->revision_id);
  });
  if (!f) co_return f.error();
  co_return jsonResponse(status::ok, functionConfigurationJson(**f, c.deps.region));
}

HandlerResult updateFunctionCode(Call& c) {
  if (Result<void> size = checkUploadSize(c, "UpdateFunctionCode"); !size) co_return size.error();
  Result<UpdateCodeInput> in = parseUpdateFunctionCode(c.req.body());
  if (!in) co_return in.error();
  const std::string& account = c.caller.account_id;
  if (in->dry_run) {
    // Validate without changing anything: the function exists and the precondition holds.
    Result<control::FunctionPtr> f = c.deps.functions.get(account, c.function->name);
    if (!f) co_return f.error();
    if (!in->revision_id.empty() && in->revision_id != (*f)->revision_id) {
      co_return makeError(ErrorCode::kPreconditionFailed,
                          "The Revision Id provided does not match the latest Revision Id. Call "
                          "the GetFunction/GetAlias API to retrieve the latest Revision Id");
    }
    co_return jsonResponse(status::ok, functionConfigurationJson(**f, c.deps.region));
  }
  Result<control::FunctionPtr> f = co_await offload(c.deps.blocking, [&] {
    return c.deps.functions.updateCode(account, c.function->name, in->code, in->revision_id);
  });
  if (!f) co_return f.error();
  co_return jsonResponse(status::ok, functionConfigurationJson(**f, c.deps.region));
}

HandlerResult deleteFunction(Call& c) {
  if (!c.function->qualifier.empty() && c.function->qualifier != kLatest) {
    co_return makeError(ErrorCode::kUnsupported,
                        "Deleting a function version or alias is not supported yet: Hearth does "
                        "not publish versions. Delete the function without a qualifier.");
  }
  const std::string& account = c.caller.account_id;
  Result<void> removed = co_await offload(
      c.deps.blocking, [&] { return c.deps.functions.remove(account, c.function->name); });
  if (!removed) co_return removed.error();
  co_return emptyResponse(status::no_content);
}

}  // namespace hearth::api
