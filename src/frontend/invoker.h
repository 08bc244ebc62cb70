// The invoke path of the frontend: resolve the function, take a concurrency slot (or answer
// 429), claim an environment from the worker manager, run the invocation, and report it the way
// Lambda does (payload, function error, START/END/REPORT log lines, X-Amz-Log-Result tail).
//
// Thread-safety: none; runs on the data-plane executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "control/function_name.h"
#include "control/function_service.h"
#include "frontend/concurrency.h"
#include "frontend/log_store.h"
#include "queue/event_queue.h"
#include "workermgr/worker_manager.h"

namespace hearth::frontend {

inline constexpr size_t kMaxSyncPayloadBytes = 6291456;  // 6 MB request limit
inline constexpr size_t kMaxClientContextBytes = 3583;
inline constexpr size_t kLogTailBytes = 4096;

// kRequestTooLarge, in Lambda's words, for an invoke payload over `limit` bytes.
Error payloadTooLarge(size_t limit);
// The synchronous limit, kMaxSyncPayloadBytes.
Result<void> checkSyncPayloadSize(size_t bytes);

struct InvokeOptions {
  std::string request_id;          // x-amzn-RequestId of the API request; becomes the invoke's id
  bool log_tail = false;           // X-Amz-Log-Type: Tail
  std::string client_context_b64;  // X-Amz-Client-Context, as sent
};

struct InvokeResponse {
  std::string payload;
  bool function_error = false;   // X-Amz-Function-Error: Unhandled
  std::string log_tail_base64;   // X-Amz-Log-Result, when asked for
  std::string executed_version;  // X-Amz-Executed-Version
};

class Invoker {
 public:
  Invoker(control::FunctionService& functions, workermgr::WorkerManager& workers, LogStore& logs,
          queue::EventQueue& events, std::string region);

  // Synchronous (RequestResponse) invoke. Errors: kNotFound, kRequestTooLarge,
  // kInvalidParameter (bad client context / qualifier), kTooManyRequests (Error::reason set),
  // kSandbox/kIo when the platform fails. Function failures are successful results with
  // function_error set.
  boost::asio::awaitable<Result<InvokeResponse>> invoke(const std::string& account_id,
                                                        const control::FunctionRef& ref,
                                                        std::string payload,
                                                        const InvokeOptions& options);

  // Asynchronous (Event) invoke: resolves as invoke() would and stores the event durably, with
  // `request_id` for every attempt; the queue's poller runs it later. Completes only once the
  // event is on disk. Errors: kNotFound, kRequestTooLarge (over `max_payload`),
  // kInvalidParameter (qualifier), kStorageFull (the data directory is full), kIo.
  boost::asio::awaitable<Result<void>> enqueue(const std::string& account_id,
                                               const control::FunctionRef& ref, std::string payload,
                                               const std::string& request_id, size_t max_payload);

  // Resolves as invoke() would, without running anything (InvocationType DryRun).
  Result<control::FunctionPtr> resolve(const std::string& account_id,
                                       const control::FunctionRef& ref) const;

  // Invocations currently running (for draining on shutdown).
  size_t inFlight() const { return in_flight_; }

 private:
  control::FunctionService& functions_;
  workermgr::WorkerManager& workers_;
  LogStore& logs_;
  queue::EventQueue& events_;
  ConcurrencyLimiter concurrency_;
  std::string region_;
  size_t in_flight_ = 0;
};

}  // namespace hearth::frontend
