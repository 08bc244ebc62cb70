// The poller: takes events off the queue, runs each through the synchronous invoke path, and
// settles it as Lambda's asynchronous invocation does:
//   - success: removed, with the invocation record sent to OnSuccess if there is one;
//   - a function error or timeout: a failed attempt, retried after n × retry_base (Lambda waits
//     about one, then two minutes) until 1 + MaximumRetryAttempts attempts were made; then
//     RetriesExhausted;
//   - throttled, or the platform failed: not an attempt; tried again with exponential backoff
//     (backoff_min doubling up to backoff_max), and no event of that function is handed out
//     during the backoff;
//   - older than MaximumEventAgeInSeconds when its turn comes: EventAgeExceeded, not invoked;
//   - its function deleted: FunctionNotFound.
// A failure's record goes to OnFailure and to the DeadLetterConfig target, or, when the function
// has neither, to the account's built-in dead-letter queue kDefaultDeadLetterQueue, so that
// nothing acknowledged disappears unseen. The record and the removal are one atomic step.
//
// The poller knows nothing of functions or workers: it reaches them through EventTarget, which
// the frontend implements and apps/ wires in (shared/DESIGN.md §7).
//
// Threading: runs on one executor (the data plane) with the queue.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "queue/event_queue.h"
#include "queue/policy.h"

namespace hearth::queue {

struct AttemptResult {
  bool function_error = false;  // the function failed (X-Amz-Function-Error), or timed out
  std::string payload;          // its response, or its error document
  std::string executed_version;
};

class EventTarget {
 public:
  virtual ~EventTarget() = default;
  // The function's policy, or nullopt if the function does not exist (any more).
  virtual std::optional<EventPolicy> policy(const FunctionTarget& function) = 0;
  // The function's ARN, qualified as `function` is, for records.
  virtual std::string functionArn(const FunctionTarget& function) = 0;
  // One attempt through the synchronous invoke path, with the event's request id. Errors:
  // kTooManyRequests (throttled), kNotFound (the function is gone), anything else (the platform
  // failed). A function error is a successful result with function_error set.
  virtual boost::asio::awaitable<Result<AttemptResult>> invoke(const Event& event) = 0;
};

struct PollerOptions {
  size_t concurrency = 32;  // events being invoked at once, across all functions
  std::chrono::milliseconds retry_base{60000};
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{300000};
  // How long a lease lasts: longer than the longest function timeout (900 s).
  std::chrono::milliseconds visibility{std::chrono::minutes(16)};
};

class Poller {
 public:
  Poller(EventQueue& queue, EventTarget& target, boost::asio::any_io_executor executor,
         PollerOptions options);

  void start();
  // Stops taking events and waits until every event taken is settled or handed back.
  boost::asio::awaitable<void> stop();

  size_t inFlight() const { return in_flight_; }

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> process(Event event);
  // Removes the event, handing its record to wherever `condition` sends it.
  boost::asio::awaitable<void> settle(const Event& event, const std::optional<EventPolicy>& policy,
                                      std::string_view condition, uint32_t invoke_count,
                                      const AttemptResult* response);
  // Hands the event back to be tried again after a backoff, without counting an attempt.
  void backOff(const Event& event, std::optional<SystemTime> expiry);
  void finished();

  EventQueue& queue_;
  EventTarget& target_;
  boost::asio::any_io_executor executor_;
  PollerOptions options_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  bool running_ = false;
  // A function's backoff: how many times in a row it was throttled (or failed on the platform's
  // side), and until when it is paused. Events of one batch that are throttled together share
  // one step: only a throttle after the pause ended escalates it.
  struct Backoff {
    uint32_t steps = 0;
    SystemTime until{};
  };
  std::map<std::pair<std::string, std::string>, Backoff> backoffs_;
  // Cancelled to wake run() (a slot freed) and stop() (a settle finished).
  boost::asio::steady_timer wake_;
};

}  // namespace hearth::queue
