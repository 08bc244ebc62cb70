// The durable event queue behind asynchronous invocation (InvocationType Event, InvokeAsync,
// destinations to functions) and the built-in dead-letter store of each account.
//
// Contract, for every implementation (SQLite in the embedded default, PostgreSQL later):
//   - append() completes only once the event is durable: after a successful append, the event
//     survives the process being killed at any moment, and is delivered at least once.
//   - lease() hands out ready events fairly across functions, (account, function) by
//     (account, function) in turn, so one flooded function does not starve the others. A leased
//     event is invisible to other lease() calls until it is completed, rescheduled, or its
//     visibility timeout passes (then it is handed out again, under a new lease).
//   - Every delivery of an event carries the same request id; `attempts` counts the function
//     attempts already made and survives restarts.
//   - complete() removes the event and stores its hand-offs (events for destination functions,
//     dead letters) in one atomic step: either the event is gone and every hand-off is durable,
//     or nothing changed.
//   - Operations that name a leased Event fail with kConflict when the lease is no longer the
//     event's current one (it expired and the event was handed out again).
//   - A full data directory makes append() (and hand-offs) fail with kStorageFull; nothing is
//     accepted that is not stored.
// Record format of the SQLite implementation: docs/formats/queue.md.
//
// Threading: implementations are driven from one executor (the data plane); every method must be
// called there, and awaitables resume there.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/time_format.h"

namespace hearth::queue {

// The function an event invokes.
struct FunctionTarget {
  std::string account_id;
  std::string function_name;
  std::string qualifier;  // "" (unqualified), "$LATEST", a version or an alias
  bool operator==(const FunctionTarget&) const = default;
};

struct NewEvent {
  std::string request_id;
  FunctionTarget target;
  std::string payload;
  SystemTime accepted_at{};  // when the client's request was accepted; starts the event's age
  // How many destination hops led to this event: 0 for a client's invoke, n + 1 for the record
  // an event of depth n sent to a destination function (the poller stops loops with it).
  uint32_t depth = 0;
};

// An event under a lease.
struct Event {
  uint64_t id = 0;
  uint64_t lease = 0;  // identifies this lease; stale after the event is handed out again
  std::string request_id;
  FunctionTarget target;
  std::string payload;
  SystemTime accepted_at{};
  uint32_t attempts = 0;  // function attempts already made
  uint32_t depth = 0;     // NewEvent::depth
};

// An entry to put in an account's built-in dead-letter store: the invocation record a person
// reads, and what a redrive sends again (the original request id, function and payload).
struct NewDeadLetter {
  std::string account_id;
  std::string queue;   // the store's queue name (isValidQueueName)
  std::string record;  // JSON invocation record (invocation_record.h)
  std::string request_id;
  FunctionTarget target;
  std::string payload;
};

struct DeadLetter {
  uint64_t id = 0;  // unique in the store, never reused
  SystemTime created_at{};
  NewDeadLetter entry;
};

// What completing an event hands on, atomically with its removal.
struct Handoff {
  std::vector<NewEvent> events;
  std::vector<NewDeadLetter> dead_letters;
};

struct DeadLetterPage {
  std::vector<DeadLetter> entries;
  std::optional<uint64_t> next_after;  // set when more entries follow the last one returned
};

// The queue every account's failed events land in when no destination is configured.
inline constexpr char kDefaultDeadLetterQueue[] = "default";

// Queue names as SQS allows them: 1–80 of [A-Za-z0-9_-].
bool isValidQueueName(std::string_view name);

class EventQueue {
 public:
  virtual ~EventQueue() = default;

  // Stores the event durably. Errors: kStorageFull (data directory full), kIo.
  virtual boost::asio::awaitable<Result<void>> append(NewEvent event) = 0;

  // Waits until at least one event is ready (or close() is called, which yields an empty list),
  // then leases up to `max` ready events for `visibility`.
  virtual boost::asio::awaitable<Result<std::vector<Event>>> lease(
      size_t max, std::chrono::milliseconds visibility) = 0;

  // Removes the leased event and stores `handoff`, atomically (see the contract above).
  virtual boost::asio::awaitable<Result<void>> complete(const Event& event, Handoff handoff) = 0;

  // Ends the lease and makes the event ready again at `visible_at`, with `attempts` recorded.
  // Takes effect at once; it is persisted in the background (a crash before that only means the
  // event is delivered again sooner, with the previous attempt count).
  virtual Result<void> reschedule(const Event& event, uint32_t attempts, SystemTime visible_at) = 0;

  // Hands out no event of the function before `until` (it is throttled). Not persisted.
  virtual void pause(const FunctionTarget& function, SystemTime until) = 0;

  // Dead-letter store of one account. `queue` is a store queue name.
  virtual boost::asio::awaitable<Result<DeadLetterPage>> listDeadLetters(std::string account_id,
                                                                         std::string queue,
                                                                         uint64_t after_id,
                                                                         size_t max) = 0;
  // Moves the entries back onto the queue as new events (their original request id, function
  // and payload, no attempts made, accepted now); all of the queue's entries if `ids` is empty.
  // Returns how many moved. Ids not in the account's queue are ignored.
  virtual boost::asio::awaitable<Result<size_t>> redrive(std::string account_id, std::string queue,
                                                         std::vector<uint64_t> ids) = 0;
  // Deletes entries (all of the queue's if `ids` is empty); returns how many.
  virtual boost::asio::awaitable<Result<size_t>> deleteDeadLetters(std::string account_id,
                                                                   std::string queue,
                                                                   std::vector<uint64_t> ids) = 0;

  // Positions of stream event sources (an event source mapping's checkpoint), kept with the
  // events so that a failed batch's hand-off and the position after it are stored in one step.
  // The position stored for `source`, or nullopt if none is.
  virtual boost::asio::awaitable<Result<std::optional<std::string>>> position(
      std::string source) = 0;
  // Stores `position` for `source` and `handoff`, atomically.
  virtual boost::asio::awaitable<Result<void>> advance(std::string source, std::string position,
                                                       Handoff handoff) = 0;
  // Forgets `source`'s position (its mapping was deleted). No error if there was none.
  virtual boost::asio::awaitable<Result<void>> forgetPosition(std::string source) = 0;

  // Wakes every lease() waiter with an empty result; later lease() calls return at once.
  virtual void close() = 0;

  // Events stored and not yet completed (ready, delayed or leased).
  virtual size_t depth() const = 0;
};

}  // namespace hearth::queue
