#include "api/api_service.h"

#include <chrono>
#include <optional>
#include <utility>

#include "api/error_mapping.h"
#include "api/handlers.h"
#include "api/sigv4.h"
#include "common/encoding.h"
#include "common/ids.h"
#include "common/log.h"

namespace hearth::api {
namespace {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using verb = bhttp::verb;

constexpr std::string_view kFunction = "/2015-03-31/functions/{FunctionName}";

}  // namespace

http::Response jsonResponse(bhttp::status status, const nlohmann::json& body) {
  http::Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  // Strings we render came through the JSON parser (valid UTF-8) or from us; replace, never
  // throw, should that ever not hold.
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

http::Response emptyResponse(bhttp::status status) { return http::Response{status, 11}; }

ApiService::ApiService(Deps deps) : deps_(std::move(deps)) {
  CHECK(!deps_.download_secret.empty());
  const std::string f(kFunction);
  const std::string eic = "/2019-09-25/functions/{FunctionName}/event-invoke-config";
  const std::string dlq = "/hearth/2026-12-01/dead-letters/{Queue}";
  const std::string esm = "/2015-03-31/event-source-mappings";
  struct Entry {
    verb method;
    std::string path;
    Route route;
  };
  using Op = Operation;
  const Entry entries[] = {
      {verb::post, "/2015-03-31/functions", {Op::kCreateFunction, "CreateFunction", false, false}},
      {verb::get, "/2015-03-31/functions", {Op::kListFunctions, "ListFunctions", false, false}},
      {verb::get, f, {Op::kGetFunction, "GetFunction", true, true}},
      {verb::delete_, f, {Op::kDeleteFunction, "DeleteFunction", true, true}},
      {verb::get,
       f + "/configuration",
       {Op::kGetFunctionConfiguration, "GetFunctionConfiguration", true, true}},
      {verb::put,
       f + "/configuration",
       {Op::kUpdateFunctionConfiguration, "UpdateFunctionConfiguration", true, false}},
      {verb::put, f + "/code", {Op::kUpdateFunctionCode, "UpdateFunctionCode", true, false}},
      {verb::post, f + "/invocations", {Op::kInvoke, "Invoke", true, true}},
      {verb::post,
       "/2014-11-13/functions/{FunctionName}/invoke-async",
       {Op::kInvokeAsync, "InvokeAsync", true, false}},
      {verb::put,
       "/2017-10-31/functions/{FunctionName}/concurrency",
       {Op::kPutFunctionConcurrency, "PutFunctionConcurrency", true, false}},
      {verb::delete_,
       "/2017-10-31/functions/{FunctionName}/concurrency",
       {Op::kDeleteFunctionConcurrency, "DeleteFunctionConcurrency", true, false}},
      {verb::get,
       "/2019-09-30/functions/{FunctionName}/concurrency",
       {Op::kGetFunctionConcurrency, "GetFunctionConcurrency", true, false}},
      {verb::get,
       "/2016-08-19/account-settings",
       {Op::kGetAccountSettings, "GetAccountSettings", false, false}},
      {verb::put,
       eic,
       {Op::kPutFunctionEventInvokeConfig, "PutFunctionEventInvokeConfig", true, true}},
      {verb::post,
       eic,
       {Op::kUpdateFunctionEventInvokeConfig, "UpdateFunctionEventInvokeConfig", true, true}},
      {verb::get,
       eic,
       {Op::kGetFunctionEventInvokeConfig, "GetFunctionEventInvokeConfig", true, true}},
      {verb::delete_,
       eic,
       {Op::kDeleteFunctionEventInvokeConfig, "DeleteFunctionEventInvokeConfig", true, true}},
      {verb::get,
       eic + "/list",
       {Op::kListFunctionEventInvokeConfigs, "ListFunctionEventInvokeConfigs", true, false}},
      {verb::post, esm, {Op::kCreateEventSourceMapping, "CreateEventSourceMapping", false, false}},
      {verb::get, esm, {Op::kListEventSourceMappings, "ListEventSourceMappings", false, false}},
      {verb::get,
       esm + "/{UUID}",
       {Op::kGetEventSourceMapping, "GetEventSourceMapping", false, false}},
      {verb::put,
       esm + "/{UUID}",
       {Op::kUpdateEventSourceMapping, "UpdateEventSourceMapping", false, false}},
      {verb::delete_,
       esm + "/{UUID}",
       {Op::kDeleteEventSourceMapping, "DeleteEventSourceMapping", false, false}},
      {verb::get, dlq, {Op::kListDeadLetters, "ListDeadLetters", false, false}},
      {verb::post, dlq + "/redrive", {Op::kRedriveDeadLetters, "RedriveDeadLetters", false, false}},
      {verb::post, dlq + "/delete", {Op::kDeleteDeadLetters, "DeleteDeadLetters", false, false}},
      {verb::get, "/hearth/code/{CodeId}", {Op::kDownloadCode, "DownloadCode", false, false}},
  };
  for (const Entry& e : entries) CHECK(router_.add(e.method, e.path, e.route).ok());
}

awaitable<http::Response> ApiService::handle(http::Request& req) {
  const std::string request_id = newUuid();
  http::Response res = co_await dispatch(req, request_id);
  res.set("x-amzn-RequestId", request_id);
  co_return res;
}

awaitable<http::Response> ApiService::dispatch(http::Request& req, const std::string& request_id) {
  const http::RouteMatch<Route> match = router_.match(req.method(), req.target());
  Result<http::QueryParams> query = http::parseQuery(http::splitTarget(req.target()).query);

  if (match.status == http::RouteStatus::kMatched && match.target->op == Operation::kDownloadCode) {
    if (!query) co_return errorResponse(query.error(), request_id);
    Result<http::Response> res = co_await downloadCode(deps_, *query, *match.params.get("CodeId"));
    co_return res ? std::move(*res) : errorResponse(res.error(), request_id);
  }

  // Authenticate before saying anything about routes, as AWS does. The lookup captures the
  // account so it is read once.
  std::optional<store::Account> caller;
  Result<sigv4::Caller> signer =
      sigv4::verify(req, std::chrono::system_clock::now(),
                    [&](std::string_view key) -> std::optional<std::string> {
                      caller = deps_.accounts.lookup(std::string(key));
                      if (!caller) return std::nullopt;
                      return caller->secret_access_key;
                    });
  if (!signer) co_return errorResponse(signer.error(), request_id);
  if (signer->region != deps_.region) {
    co_return errorResponse(
        makeError(ErrorCode::kInvalidSignature,
                  "Credential should be scoped to a valid region, not '" + signer->region +
                      "'. This endpoint serves '" + deps_.region + "'."),
        request_id);
  }

  if (match.status != http::RouteStatus::kMatched) {
    co_return errorResponse(makeError(ErrorCode::kUnknownOperation,
                                      "Unknown operation: " + std::string(req.method_string()) +
                                          " " + std::string(http::splitTarget(req.target()).path)),
                            request_id);
  }
  if (!query) co_return errorResponse(query.error(), request_id);
  const Route& route = *match.target;

  std::optional<control::FunctionRef> function;
  if (route.has_function) {
    std::optional<std::string> name = uriDecode(*match.params.get("FunctionName"));
    if (!name) {
      co_return errorResponse(makeError(ErrorCode::kInvalidParameter,
                                        "Malformed percent-encoding in the function name."),
                              request_id);
    }
    std::string_view query_qualifier;
    if (route.takes_qualifier) query_qualifier = query->get("Qualifier").value_or("");
    Result<control::FunctionRef> ref =
        control::parseFunctionRef(*name, query_qualifier, caller->account_id, deps_.region);
    if (!ref) co_return errorResponse(ref.error(), request_id);
    if (!route.takes_qualifier && !ref->qualifier.empty()) {
      co_return errorResponse(
          makeError(ErrorCode::kInvalidParameter,
                    std::string(route.name) +
                        " does not take a qualifier: name the function without a version or "
                        "alias."),
          request_id);
    }
    function = std::move(*ref);
  }

  Call call{deps_, req, request_id, *caller, *query, function ? &*function : nullptr, match.params};
  Result<http::Response> res;
  switch (route.op) {
    case Operation::kCreateFunction:
      res = co_await createFunction(call);
      break;
    case Operation::kListFunctions:
      res = co_await listFunctions(call);
      break;
    case Operation::kGetFunction:
      res = co_await getFunction(call);
      break;
    case Operation::kDeleteFunction:
      res = co_await deleteFunction(call);
      break;
    case Operation::kGetFunctionConfiguration:
      res = co_await getFunctionConfiguration(call);
      break;
    case Operation::kUpdateFunctionConfiguration:
      res = co_await updateFunctionConfiguration(call);
      break;
    case Operation::kUpdateFunctionCode:
      res = co_await updateFunctionCode(call);
      break;
    case Operation::kInvoke:
      res = co_await invoke(call);
      break;
    case Operation::kInvokeAsync:
      res = co_await invokeAsync(call);
      break;
    case Operation::kPutFunctionConcurrency:
      res = co_await putFunctionConcurrency(call);
      break;
    case Operation::kGetFunctionConcurrency:
      res = co_await getFunctionConcurrency(call);
      break;
    case Operation::kDeleteFunctionConcurrency:
      res = co_await deleteFunctionConcurrency(call);
      break;
    case Operation::kGetAccountSettings:
      res = co_await getAccountSettings(call);
      break;
    case Operation::kPutFunctionEventInvokeConfig:
      res = co_await putFunctionEventInvokeConfig(call);
      break;
    case Operation::kUpdateFunctionEventInvokeConfig:
      res = co_await updateFunctionEventInvokeConfig(call);
      break;
    case Operation::kGetFunctionEventInvokeConfig:
      res = co_await getFunctionEventInvokeConfig(call);
      break;
    case Operation::kDeleteFunctionEventInvokeConfig:
      res = co_await deleteFunctionEventInvokeConfig(call);
      break;
    case Operation::kListFunctionEventInvokeConfigs:
      res = co_await listFunctionEventInvokeConfigs(call);
      break;
    case Operation::kCreateEventSourceMapping:
      res = co_await createEventSourceMapping(call);
      break;
    case Operation::kGetEventSourceMapping:
      res = co_await getEventSourceMapping(call);
      break;
    case Operation::kListEventSourceMappings:
      res = co_await listEventSourceMappings(call);
      break;
    case Operation::kUpdateEventSourceMapping:
      res = co_await updateEventSourceMapping(call);
      break;
    case Operation::kDeleteEventSourceMapping:
      res = co_await deleteEventSourceMapping(call);
      break;
    case Operation::kListDeadLetters:
      res = co_await listDeadLetters(call);
      break;
    case Operation::kRedriveDeadLetters:
      res = co_await redriveDeadLetters(call);
      break;
    case Operation::kDeleteDeadLetters:
      res = co_await deleteDeadLetters(call);
      break;
    case Operation::kDownloadCode:  // served above, unauthenticated
      CHECK(false);
  }
  if (res) co_return std::move(*res);

  Error error = std::move(res).error();
  // The control plane names only the function; Lambda names its ARN, qualified as requested.
  // Other missing resources (an EventInvokeConfig) keep their own message.
  if (error.code == ErrorCode::kNotFound && function &&
      error.message.starts_with(control::kFunctionNotFoundPrefix)) {
    error.message =
        "Function not found: " +
        control::functionArn(deps_.region, caller->account_id, function->name, function->qualifier);
  }
  LOG_DEBUG("request {} {}: {}", request_id, route.name, error.toString());
  co_return errorResponse(error, request_id);
}

http::Response ApiService::tooLarge(const http::Request& req) const {
  const std::string request_id = newUuid();
  const http::RouteMatch<Route> match = router_.match(req.method(), req.target());
  const bool is_invoke =
      match.status == http::RouteStatus::kMatched &&
      (match.target->op == Operation::kInvoke || match.target->op == Operation::kInvokeAsync);
  Error error;
  if (is_invoke) {
    error = frontend::payloadTooLarge(frontend::kMaxSyncPayloadBytes);
  } else {
    std::string op = match.status == http::RouteStatus::kMatched ? std::string(match.target->name)
                                                                 : std::string("requested");
    error = makeError(ErrorCode::kEntityTooLarge, "Request must be smaller than " +
                                                      std::to_string(kMaxRequestBodyBytes) +
                                                      " bytes for the " + op + " operation");
  }
  return errorResponse(error, request_id);
}

}  // namespace hearth::api
