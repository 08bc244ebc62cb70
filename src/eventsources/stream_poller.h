// The poller of one Redis-stream event source mapping: reads the stream in order from its stored
// position, hands records to the function in batches through the synchronous invoke path, and
// advances the position only after a batch succeeded or was sent to OnFailure — as Lambda's
// Kinesis pollers do (docs/formats/redis-stream-source.md, "Delivery").
//
//   - Batches: up to BatchSize records; with MaximumBatchingWindowInSeconds the poller waits up
//     to that long for a batch to fill.
//   - Order: with ParallelizationFactor 1 every record is delivered in stream order, one batch at
//     a time. With N > 1, each read round is split into N lanes by the records' partition key
//     (the entry's `partitionKey` field; none is the key ""), lanes run concurrently, and records
//     of one key keep their order. The position advances when the whole round is settled.
//   - A function error or timeout is a failed attempt: the batch is retried (split in two first,
//     with BisectBatchOnFunctionError) until MaximumRetryAttempts failed retries, or until a
//     record is older than MaximumRecordAgeInSeconds (-1: never); then the batch is handed to
//     OnFailure (or, when none is set, the account's default dead-letter queue) with Lambda's
//     condition RetryAttemptsExhausted or RecordAgeExceeded, and the stream moves on.
//   - Throttles, platform failures and a lost connection are not attempts: retried with backoff.
// The position and a failed batch's hand-off are stored in one step (EventQueue::advance), so a
// crash delivers records again (at-least-once) but never skips one unreported.
//
// Threading: runs on one executor (the data plane), with the queue and the target.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eventsources/redis/redis_client.h"
#include "eventsources/redis/stream.h"
#include "queue/event_queue.h"
#include "queue/poller.h"

namespace hearth::eventsources {

// A batch must fit one synchronous Invoke (frontend::kMaxSyncPayloadBytes, 6 MB): a larger one is
// split in two before it runs (not an attempt), and a single record whose event is larger is
// handed on unrun with condition RecordTooLarge (Hearth's).
inline constexpr size_t kMaxBatchPayloadBytes = 6291456;

// A mapping as the poller runs it.
struct StreamMapping {
  std::string uuid;
  std::string event_source_arn;  // canonical (formatStreamArn)
  redis::StreamArn stream;
  queue::FunctionTarget function;
  std::string function_arn;  // for failure records
  std::string region;        // the records' awsRegion
  uint32_t batch_size = 100;
  std::chrono::seconds batching_window{0};
  bool start_at_latest = false;     // StartingPosition LATEST; else TRIM_HORIZON
  int32_t max_retry_attempts = -1;  // -1: retry until the records expire
  int32_t max_record_age_s = -1;    // -1: records never expire
  bool bisect_on_error = false;
  uint32_t parallelization_factor = 1;
  std::optional<queue::Destination> on_failure;
};

struct StreamPollerOptions {
  std::chrono::milliseconds idle_block{1000};  // XREAD BLOCK when the stream has nothing new
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds connect_timeout{5000};
};

class StreamPoller {
 public:
  StreamPoller(StreamMapping mapping, queue::EventQueue& queue, queue::EventTarget& target,
               boost::asio::any_io_executor executor, StreamPollerOptions options = {});

  void start();
  // Stops reading; the batch being invoked finishes and its position is stored.
  boost::asio::awaitable<void> stop();

  const StreamMapping& mapping() const { return mapping_; }
  // Lambda's LastProcessingResult: "No records processed", "OK", or "PROBLEM: ...".
  const std::string& lastProcessingResult() const { return last_result_; }

 private:
  using Records = std::vector<redis::StreamEntry>;

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<Result<void>> connect();
  // The stored position, or the starting one (stored at once, so LATEST means "from creation").
  boost::asio::awaitable<Result<redis::StreamId>> startingPosition();
  // Reads the next round: up to batch_size × parallelization_factor records after `after`.
  boost::asio::awaitable<Result<Records>> readRound(redis::StreamId after);
  // Runs every record of the round; returns the hand-offs of batches that finally failed.
  boost::asio::awaitable<queue::Handoff> processRound(const Records& round);
  boost::asio::awaitable<void> processLane(std::vector<const redis::StreamEntry*> lane,
                                           queue::Handoff& handoff);
  boost::asio::awaitable<void> processBatch(std::vector<const redis::StreamEntry*> batch,
                                            queue::Handoff& handoff);
  void fail(const std::vector<const redis::StreamEntry*>& batch, std::string_view condition,
            uint32_t invoke_count, const std::string& request_id,
            const queue::AttemptResult* response, queue::Handoff& handoff);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);
  std::chrono::milliseconds backoff(uint32_t failures) const;

  StreamMapping mapping_;
  queue::EventQueue& queue_;
  queue::EventTarget& target_;
  boost::asio::any_io_executor executor_;
  StreamPollerOptions options_;
  redis::Client client_;
  boost::asio::steady_timer wake_;  // sleeps; cancelled by stop()
  bool stopping_ = false;
  bool running_ = false;
  std::string last_result_ = "No records processed";
};

// The event a batch is delivered as (docs/formats/redis-stream-source.md, "The event").
std::string streamEvent(const StreamMapping& mapping,
                        const std::vector<const redis::StreamEntry*>& records);

}  // namespace hearth::eventsources
