// GetAccountSettings: Lambda's account limits and the caller's usage.
#include "api/handlers.h"
#include "codestore/code_store.h"
#include "control/function_service.h"

namespace hearth::api {

HandlerResult getAccountSettings(Call& c) {
  const control::AccountUsage usage = c.deps.functions.usage(c.caller.account_id);
  nlohmann::json body = {
      {"AccountLimit",
       {{"TotalCodeSize", control::kAccountCodeStorageBytes},
        {"CodeSizeUnzipped", codestore::kMaxUnzippedBytes},
        {"CodeSizeZipped", codestore::kMaxZippedBytes},
        {"ConcurrentExecutions", control::kAccountConcurrencyLimit},
        {"UnreservedConcurrentExecutions",
         control::kAccountConcurrencyLimit - usage.reserved_concurrency_sum}}},
      {"AccountUsage",
       {{"TotalCodeSize", usage.total_code_size}, {"FunctionCount", usage.function_count}}},
  };
  co_return jsonResponse(boost::beast::http::status::ok, body);
}

}  // namespace hearth::api
