// PutFunctionEventInvokeConfig, UpdateFunctionEventInvokeConfig, GetFunctionEventInvokeConfig,
// DeleteFunctionEventInvokeConfig and ListFunctionEventInvokeConfigs: a function's retry and age
// limits for asynchronous invocation and the destinations of their outcomes. Validation
// (ranges, destination ARNs) is the control plane's.
#include <optional>

#include "api/function_json.h"
#include "api/handlers.h"
#include "common/offload.h"

namespace hearth::api {
namespace {

using boost::beast::http::status;
using nlohmann::json;

// The version the request names (an unqualified name means $LATEST); the config's FunctionArn
// is qualified with it. kNotFound for a missing function or version.
Result<std::string> qualifierOf(const Call& c) {
  Result<control::FunctionPtr> f = c.deps.functions.resolve(c.caller.account_id, *c.function);
  if (!f) return f.error();
  return (*f)->version;
}

json destinationJson(const std::string& arn) {
  json d = json::object();
  if (!arn.empty()) d["Destination"] = arn;
  return d;
}

// FunctionEventInvokeConfig. REQUIRES: f.event_invoke_config.
json configJson(const control::Function& f, const Call& c, const std::string& qualifier) {
  const control::EventInvokeConfig& e = *f.event_invoke_config;
  json j = {
      {"FunctionArn", control::functionArn(c.deps.region, f.account_id, f.name, qualifier)},
      // A timestamp: epoch seconds, as botocore parses it.
      {"LastModified", static_cast<double>(toEpochMillis(e.last_modified)) / 1000.0},
      {"DestinationConfig",
       {{"OnSuccess", destinationJson(e.on_success)},
        {"OnFailure", destinationJson(e.on_failure)}}},
  };
  if (e.max_retries) j["MaximumRetryAttempts"] = *e.max_retries;
  if (e.max_age_s) j["MaximumEventAgeInSeconds"] = *e.max_age_s;
  return j;
}

Error noConfig(const Call& c, const std::string& qualifier) {
  return makeError(
      ErrorCode::kNotFound,
      "The function " +
          control::functionArn(c.deps.region, c.caller.account_id, c.function->name, qualifier) +
          " doesn't have an EventInvokeConfig");
}

HandlerResult put(Call& c, bool merge) {
  Result<std::string> qualifier = qualifierOf(c);
  if (!qualifier) co_return qualifier.error();
  Result<control::EventInvokeConfigSettings> settings = parseEventInvokeConfig(c.req.body());
  if (!settings) co_return settings.error();
  const std::string& account = c.caller.account_id;
  Result<control::FunctionPtr> f = co_await offload(c.deps.blocking, [&] {
    return c.deps.functions.putEventInvokeConfig(account, c.function->name, *settings, merge);
  });
  if (!f) co_return f.error();
  co_return jsonResponse(status::ok, configJson(**f, c, *qualifier));
}

}  // namespace

HandlerResult putFunctionEventInvokeConfig(Call& c) { return put(c, /*merge=*/false); }

HandlerResult updateFunctionEventInvokeConfig(Call& c) { return put(c, /*merge=*/true); }

HandlerResult getFunctionEventInvokeConfig(Call& c) {
  Result<std::string> qualifier = qualifierOf(c);
  if (!qualifier) co_return qualifier.error();
  Result<control::FunctionPtr> f = c.deps.functions.get(c.caller.account_id, c.function->name);
  if (!f) co_return f.error();
  if (!(*f)->event_invoke_config) co_return noConfig(c, *qualifier);
  co_return jsonResponse(status::ok, configJson(**f, c, *qualifier));
}

HandlerResult deleteFunctionEventInvokeConfig(Call& c) {
  Result<std::string> qualifier = qualifierOf(c);
  if (!qualifier) co_return qualifier.error();
  const std::string& account = c.caller.account_id;
  Result<control::FunctionPtr> f = co_await offload(c.deps.blocking, [&] {
    return c.deps.functions.deleteEventInvokeConfig(account, c.function->name);
  });
  if (!f)
    co_return f.error().message.starts_with(control::kFunctionNotFoundPrefix)
        ? f.error()
        : noConfig(c, *qualifier);
  co_return emptyResponse(status::no_content);
}

HandlerResult listFunctionEventInvokeConfigs(Call& c) {
  Result<control::FunctionPtr> f = c.deps.functions.get(c.caller.account_id, c.function->name);
  if (!f) co_return f.error();
  json configs = json::array();
  if ((*f)->event_invoke_config) configs.push_back(configJson(**f, c, "$LATEST"));
  // One version exists, so one page holds every config; Marker and MaxItems need no paging.
  co_return jsonResponse(status::ok, {{"FunctionEventInvokeConfigs", std::move(configs)}});
}

}  // namespace hearth::api
