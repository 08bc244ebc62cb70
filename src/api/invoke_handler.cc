// Invoke (POST {F}/invocations) and the deprecated InvokeAsync, translated between Lambda's wire
// form (shared/refs/lambda-api.md §2) and frontend::Invoker.
//
// Asynchronous invocation (InvocationType Event, up to 1 MB; InvokeAsync, up to 256 KB) answers
// 202 only once the event is durable in the queue; its x-amzn-RequestId is the request id of
// every attempt. A full data directory is answered 503 and nothing is accepted.
#include <string>
#include <string_view>

#include "api/handlers.h"
#include "queue/policy.h"

namespace hearth::api {
namespace {

namespace bhttp = boost::beast::http;

}  // namespace

HandlerResult invoke(Call& c) {
  const std::string_view type = c.req["X-Amz-Invocation-Type"];
  const bool dry_run = type == "DryRun";
  if (!type.empty() && type != "RequestResponse" && type != "Event" && !dry_run) {
    co_return makeError(ErrorCode::kInvalidParameter,
                        "1 validation error detected: Value '" + std::string(type) +
                            "' at 'invocationType' failed to satisfy constraint: Member must "
                            "satisfy enum value set: [Event, RequestResponse, DryRun]");
  }
  const std::string_view log_type = c.req["X-Amz-Log-Type"];
  if (!log_type.empty() && log_type != "None" && log_type != "Tail") {
    co_return makeError(ErrorCode::kInvalidParameter,
                        "1 validation error detected: Value '" + std::string(log_type) +
                            "' at 'logType' failed to satisfy constraint: Member must satisfy "
                            "enum value set: [None, Tail]");
  }
  // Before anything else looks at the body (DryRun and Event included), as Lambda does.
  if (Result<void> size = frontend::checkSyncPayloadSize(c.req.body().size()); !size) {
    co_return size.error();
  }
  if (type == "Event") {
    Result<void> queued =
        co_await c.deps.invoker.enqueue(c.caller.account_id, *c.function, std::move(c.req.body()),
                                        c.request_id, queue::kMaxAsyncPayloadBytes);
    if (!queued) co_return queued.error();
    co_return emptyResponse(bhttp::status::accepted);
  }

  if (dry_run) {
    Result<control::FunctionPtr> f = c.deps.invoker.resolve(c.caller.account_id, *c.function);
    if (!f) co_return f.error();
    co_return emptyResponse(bhttp::status::no_content);
  }

  frontend::InvokeOptions options;
  options.request_id = c.request_id;
  options.log_tail = log_type == "Tail";
  options.client_context_b64 = std::string(c.req["X-Amz-Client-Context"]);
  Result<frontend::InvokeResponse> out = co_await c.deps.invoker.invoke(
      c.caller.account_id, *c.function, std::move(c.req.body()), options);
  if (!out) co_return out.error();

  http::Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set("X-Amz-Executed-Version", out->executed_version);
  if (out->function_error) res.set("X-Amz-Function-Error", "Unhandled");
  if (options.log_tail) res.set("X-Amz-Log-Result", out->log_tail_base64);
  res.body() = std::move(out->payload);
  co_return res;
}

HandlerResult invokeAsync(Call& c) {
  Result<void> queued =
      co_await c.deps.invoker.enqueue(c.caller.account_id, *c.function, std::move(c.req.body()),
                                      c.request_id, queue::kMaxInvokeAsyncPayloadBytes);
  if (!queued) co_return queued.error();
  co_return jsonResponse(bhttp::status::accepted, {{"Status", 202}});
}

}  // namespace hearth::api
