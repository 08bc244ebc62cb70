// Internal to src/api: what ApiService hands each operation handler, the handlers themselves (one
// .cc per operation group), and the reply builders they share. Nothing outside src/api includes
// this file.
//
// A handler returns the success reply, or an Error that ApiService turns into Lambda's error
// reply (rewriting "Function not found" messages to name the function's ARN). Handlers run on the
// data-plane thread and offload blocking work to Deps::blocking.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/api_service.h"
#include "common/result.h"
#include "control/function_name.h"
#include "http/message.h"
#include "http/query.h"
#include "http/router.h"
#include "store/metadata_store.h"

namespace hearth::api {

// One authenticated request, as a handler sees it. Everything is borrowed from ApiService and
// the request, and lives until the handler's coroutine completes.
struct Call {
  const ApiService::Deps& deps;
  http::Request& req;
  const std::string& request_id;
  const store::Account& caller;
  const http::QueryParams& query;
  // The resolved {FunctionName} (with its qualifier) on routes that have one; else nullptr.
  const control::FunctionRef* function;
  // The route's path parameters, as sent (still percent-encoded).
  const http::PathParams& params;
};

using HandlerResult = boost::asio::awaitable<Result<http::Response>>;

// function_handlers.cc
HandlerResult createFunction(Call& c);
HandlerResult listFunctions(Call& c);
HandlerResult getFunction(Call& c);
HandlerResult getFunctionConfiguration(Call& c);
HandlerResult updateFunctionConfiguration(Call& c);
HandlerResult updateFunctionCode(Call& c);
HandlerResult deleteFunction(Call& c);

// invoke_handler.cc
HandlerResult invoke(Call& c);
HandlerResult invokeAsync(Call& c);

// event_invoke_config_handlers.cc
HandlerResult putFunctionEventInvokeConfig(Call& c);
HandlerResult updateFunctionEventInvokeConfig(Call& c);
HandlerResult getFunctionEventInvokeConfig(Call& c);
HandlerResult deleteFunctionEventInvokeConfig(Call& c);
HandlerResult listFunctionEventInvokeConfigs(Call& c);

// event_source_mapping_handlers.cc
HandlerResult createEventSourceMapping(Call& c);
HandlerResult getEventSourceMapping(Call& c);
HandlerResult listEventSourceMappings(Call& c);
HandlerResult updateEventSourceMapping(Call& c);
HandlerResult deleteEventSourceMapping(Call& c);

// dead_letter_handlers.cc (Hearth's own API)
HandlerResult listDeadLetters(Call& c);
HandlerResult redriveDeadLetters(Call& c);
HandlerResult deleteDeadLetters(Call& c);

// concurrency_handlers.cc
HandlerResult putFunctionConcurrency(Call& c);
HandlerResult getFunctionConcurrency(Call& c);
HandlerResult deleteFunctionConcurrency(Call& c);

// account_handlers.cc
HandlerResult getAccountSettings(Call& c);

// code_download.cc: the presigned, unauthenticated code download behind Code.Location.
// The absolute URL ("http://<host>/hearth/code/<id>?Expires=<epoch s>&Signature=<hex>") valid
// until now + kCodeUrlLifetime.
std::string presignCodeUrl(const ApiService::Deps& deps, std::string_view host,
                           const std::string& code_id, SystemTime now);
// Serves GET /hearth/code/{CodeId}: kInvalidSignature for a missing, expired or wrong signature.
HandlerResult downloadCode(const ApiService::Deps& deps, const http::QueryParams& query,
                           std::string_view code_id);

// ?MaxItems= of a List operation: 1–10000, `default_items` when absent; kInvalidParameter else.
Result<int64_t> parseMaxItems(std::optional<std::string_view> text, int64_t default_items);

// Reply builders.
http::Response jsonResponse(boost::beast::http::status status, const nlohmann::json& body);
http::Response emptyResponse(boost::beast::http::status status);

}  // namespace hearth::api
