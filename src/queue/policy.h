// What happens to an asynchronous event: how often a failing function is retried, how old an
// event may grow, and where its outcome is sent (Lambda's EventInvokeConfig and DeadLetterConfig,
// resolved for the poller). Pure data and pure functions; no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "queue/event_queue.h"

namespace hearth::queue {

// Lambda's limits and defaults for asynchronous invocation.
inline constexpr uint32_t kMaxRetryAttempts = 2;  // MaximumRetryAttempts 0–2, default 2
inline constexpr uint32_t kDefaultRetryAttempts = 2;
inline constexpr std::chrono::seconds kMinEventAge{60};  // MaximumEventAgeInSeconds 60–21600
inline constexpr std::chrono::seconds kMaxEventAge{21600};
inline constexpr size_t kMaxAsyncPayloadBytes = 1048576;       // Invoke with InvocationType Event
inline constexpr size_t kMaxInvokeAsyncPayloadBytes = 262144;  // the legacy InvokeAsync API

// The longest chain of destination functions an event may start (A's record to B, B's to C,
// ...): Lambda stops recursive loops after 16 invocations. A record that would go one hop
// further goes to the account's default dead-letter queue instead.
inline constexpr uint32_t kMaxDestinationDepth = 16;

// Where an outcome can be delivered. A function destination receives the invocation record as an
// asynchronous event; a dead-letter queue is a queue of the account's built-in dead-letter
// store, named by an SQS-shaped ARN (arn:aws:sqs:<region>:<account>:<queue>).
struct Destination {
  enum class Kind { kFunction, kDeadLetterQueue };
  Kind kind = Kind::kDeadLetterQueue;
  std::string arn;          // as configured, for records and messages
  FunctionTarget function;  // kFunction
  std::string account_id;   // kDeadLetterQueue: the store's owner
  std::string queue;        // kDeadLetterQueue: the store's queue name
};

// One function's policy for its asynchronous events.
struct EventPolicy {
  std::string function_arn;  // qualified as the event was ("...:function:f:$LATEST")
  uint32_t max_retries = kDefaultRetryAttempts;
  std::chrono::seconds max_age = kMaxEventAge;
  std::optional<Destination> on_success;
  std::optional<Destination> on_failure;   // DestinationConfig.OnFailure
  std::optional<Destination> dead_letter;  // the function's DeadLetterConfig
};

}  // namespace hearth::queue
