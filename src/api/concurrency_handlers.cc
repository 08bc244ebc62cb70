// PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency: a function's
// reserved concurrency, validated against the account's limits by the control plane.
#include <optional>

#include "api/function_json.h"
#include "api/handlers.h"
#include "common/offload.h"

namespace hearth::api {
namespace {

using boost::beast::http::status;
using nlohmann::json;

}  // namespace

HandlerResult putFunctionConcurrency(Call& c) {
  Result<json> body = parseJsonObject(c.req.body());
  if (!body) co_return body.error();
  Result<std::optional<int64_t>> reserved =
      optionalInteger(*body, "ReservedConcurrentExecutions", "reservedConcurrentExecutions");
  if (!reserved) co_return reserved.error();
  if (!*reserved) {
    co_return makeError(ErrorCode::kInvalidParameter,
                        "1 validation error detected: Value null at "
                        "'reservedConcurrentExecutions' failed to satisfy constraint: Member "
                        "must not be null");
  }
  const std::string& account = c.caller.account_id;
  Result<control::FunctionPtr> f = co_await offload(c.deps.blocking, [&] {
    return c.deps.functions.putConcurrency(account, c.function->name, **reserved);
  });
  if (!f) co_return f.error();
  co_return jsonResponse(status::ok,
                         {{"ReservedConcurrentExecutions", *(*f)->reserved_concurrency}});
}

HandlerResult getFunctionConcurrency(Call& c) {
  Result<control::FunctionPtr> f = c.deps.functions.get(c.caller.account_id, c.function->name);
  if (!f) co_return f.error();
  json body = json::object();
  if ((*f)->reserved_concurrency) {
    body["ReservedConcurrentExecutions"] = *(*f)->reserved_concurrency;
  }
  co_return jsonResponse(status::ok, body);
}

HandlerResult deleteFunctionConcurrency(Call& c) {
  const std::string& account = c.caller.account_id;
  Result<control::FunctionPtr> f = co_await offload(c.deps.blocking, [&] {
    return c.deps.functions.deleteConcurrency(account, c.function->name);
  });
  if (!f) co_return f.error();
  co_return emptyResponse(status::no_content);
}

}  // namespace hearth::api
