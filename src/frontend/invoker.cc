#include "frontend/invoker.h"

#include <cmath>
#include <cstdio>

#include "common/encoding.h"
#include "common/log.h"
#include "common/time_format.h"

namespace hearth::frontend {
namespace {

namespace asio = boost::asio;

std::string formatMs(std::chrono::microseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// The REPORT line, in real Lambda's field order (Init Duration last).
std::string reportLine(const std::string& request_id, const worker::InvokeResult& r,
                       uint32_t memory_mb) {
  auto billed_ms =
      static_cast<long long>(std::ceil(static_cast<double>(r.duration.count()) / 1000.0));
  if (billed_ms < 1) billed_ms = 1;
  uint64_t used_mb = (r.max_memory_bytes + (1 << 20) - 1) >> 20;
  std::string line = "REPORT RequestId: " + request_id + "\tDuration: " + formatMs(r.duration) +
                     " ms\tBilled Duration: " + std::to_string(billed_ms) +
                     " ms\tMemory Size: " + std::to_string(memory_mb) +
                     " MB\tMax Memory Used: " + std::to_string(used_mb) + " MB";
  if (r.init_duration) line += "\tInit Duration: " + formatMs(*r.init_duration) + " ms";
  if (r.timed_out) line += "\tStatus: timeout";
  line += "\t\n";
  return line;
}

}  // namespace

Error payloadTooLarge(size_t limit) {
  return makeError(ErrorCode::kRequestTooLarge, "Request must be smaller than " +
                                                    std::to_string(limit) +
                                                    " bytes for the InvokeFunction operation");
}

Result<void> checkSyncPayloadSize(size_t bytes) {
  if (bytes <= kMaxSyncPayloadBytes) return {};
  return payloadTooLarge(kMaxSyncPayloadBytes);
}

Invoker::Invoker(control::FunctionService& functions, workermgr::WorkerManager& workers,
                 LogStore& logs, queue::EventQueue& events, std::string region)
    : functions_(functions),
      workers_(workers),
      logs_(logs),
      events_(events),
      concurrency_(control::kAccountConcurrencyLimit),
      region_(std::move(region)) {}

Result<control::FunctionPtr> Invoker::resolve(const std::string& account_id,
                                              const control::FunctionRef& ref) const {
  return functions_.resolve(account_id, ref);
}

asio::awaitable<Result<void>> Invoker::enqueue(const std::string& account_id,
                                               const control::FunctionRef& ref, std::string payload,
                                               const std::string& request_id, size_t max_payload) {
  if (payload.size() > max_payload) co_return payloadTooLarge(max_payload);
  Result<control::FunctionPtr> fn = resolve(account_id, ref);
  if (!fn) co_return fn.error();
  // A named value, not a temporary in the co_await expression: GCC 12 destroys such temporaries
  // twice when they are arguments of an awaited coroutine.
  queue::NewEvent event{request_id, queue::FunctionTarget{account_id, (*fn)->name, ref.qualifier},
                        std::move(payload), std::chrono::system_clock::now()};
  Result<void> stored = co_await events_.append(std::move(event));
  co_return stored;
}

asio::awaitable<Result<InvokeResponse>> Invoker::invoke(const std::string& account_id,
                                                        const control::FunctionRef& ref,
                                                        std::string payload,
                                                        const InvokeOptions& options) {
  if (Result<void> size = checkSyncPayloadSize(payload.size()); !size) co_return size.error();
  Result<control::FunctionPtr> resolved = resolve(account_id, ref);
  if (!resolved) co_return resolved.error();
  control::FunctionPtr fn = std::move(*resolved);

  std::string client_context;
  if (!options.client_context_b64.empty()) {
    std::optional<std::string> decoded = base64Decode(options.client_context_b64);
    if (!decoded) {
      co_return makeError(ErrorCode::kInvalidParameter,
                          "Client context must be a valid Base64-encoded JSON object.");
    }
    if (options.client_context_b64.size() > kMaxClientContextBytes) {
      co_return makeError(ErrorCode::kInvalidParameter,
                          "Client context must be smaller than 3583 bytes.");
    }
    client_context = std::move(*decoded);
  }

  Result<ConcurrencyLimiter::Slot> slot =
      concurrency_.acquire(account_id, fn->name, fn->reserved_concurrency,
                           functions_.usage(account_id).reserved_concurrency_sum);
  if (!slot) co_return slot.error();

  worker::EnvironmentSpec spec;
  spec.key = {account_id, fn->name, fn->version, fn->revision_id};
  spec.function_arn = control::functionArn(region_, account_id, fn->name);
  spec.runtime = fn->runtime;
  spec.handler = fn->handler;
  spec.code_id = fn->code_id;
  spec.memory_mb = fn->memory_mb;
  spec.ephemeral_mb = fn->ephemeral_mb;
  spec.timeout = std::chrono::seconds(fn->timeout_s);
  spec.environment = fn->environment;
  spec.region = region_;
  spec.image = fn->package_type == "Image";
  spec.entry_point = fn->image_config.entry_point;
  spec.command = fn->image_config.command;
  spec.working_directory = fn->image_config.working_directory;

  ++in_flight_;
  struct Guard {
    size_t& n;
    ~Guard() { --n; }
  } guard{in_flight_};

  Result<workermgr::Lease> lease = co_await workers_.acquire(spec);
  if (!lease) {
    LOG_WARN("invoke {}: no environment: {}", fn->name, lease.error().toString());
    co_return lease.error();
  }
  worker::Environment& env = lease->environment();
  worker::InvokeRequest request;
  request.request_id = options.request_id;
  request.payload = std::move(payload);
  request.client_context = std::move(client_context);
  request.invoked_function_arn = control::functionArn(region_, account_id, fn->name, ref.qualifier);
  Result<worker::InvokeResult> ran = co_await env.invoke(std::move(request));
  if (!ran) {
    LOG_ERROR("invoke {}: {}", fn->name, ran.error().toString());
    co_return ran.error();
  }
  worker::InvokeResult& r = *ran;

  std::string log = "START RequestId: " + options.request_id + " Version: " + fn->version + "\n";
  log += r.log;
  if (!r.log.empty() && r.log.back() != '\n') log += '\n';
  if (r.timed_out) {
    log += formatLambdaTimestamp(std::chrono::system_clock::now()) + " " + options.request_id +
           " Task timed out after " + std::to_string(fn->timeout_s) + ".00 seconds\n";
  }
  log += "END RequestId: " + options.request_id + "\n";
  log += reportLine(options.request_id, r, fn->memory_mb);
  if (Result<void> w = logs_.append(account_id, fn->name, env.logStream(), log); !w) {
    LOG_WARN("function log for {}: {}", fn->name, w.error().toString());
  }

  InvokeResponse response;
  response.payload = std::move(r.payload);
  response.function_error = r.function_error;
  response.executed_version = fn->version;
  if (options.log_tail) {
    std::string_view tail = log;
    if (tail.size() > kLogTailBytes) tail = tail.substr(tail.size() - kLogTailBytes);
    response.log_tail_base64 = base64Encode(tail);
  }
  co_return response;
}

}  // namespace hearth::frontend
