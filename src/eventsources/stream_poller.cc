#include "eventsources/stream_poller.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/ids.h"
#include "common/log.h"

namespace hearth::eventsources {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using Batch = std::vector<const redis::StreamEntry*>;

constexpr std::string_view kRetriesExhausted = "RetryAttemptsExhausted";
constexpr std::string_view kRecordAgeExceeded = "RecordAgeExceeded";
constexpr std::string_view kRecordTooLarge = "RecordTooLarge";
constexpr char kPartitionKeyField[] = "partitionKey";

SystemTime arrival(const redis::StreamEntry& e) {
  return fromEpochMillis(static_cast<int64_t>(e.id.ms));
}

std::string_view partitionKey(const redis::StreamEntry& e) {
  for (const auto& [name, value] : e.fields) {
    if (name == kPartitionKeyField) return value;
  }
  return {};
}

// The record's fields: an object of strings when every name is unique and every name and value
// is UTF-8 (the common case), else, losslessly, base64 [name, value] pairs in stored order.
void addFields(const redis::StreamEntry& e, json& out) {
  bool plain = true;
  json fields = json::object();
  for (const auto& [name, value] : e.fields) {
    if (!isValidUtf8(name) || !isValidUtf8(value) || fields.contains(name)) {
      plain = false;
      break;
    }
    fields[name] = value;
  }
  if (plain) {
    out["fields"] = std::move(fields);
    return;
  }
  json pairs = json::array();
  for (const auto& [name, value] : e.fields) {
    pairs.push_back(json::array({base64Encode(name), base64Encode(value)}));
  }
  out["fieldsBase64"] = std::move(pairs);
}

// Redis ids carry their arrival time in ms; records show it in seconds, as Kinesis records do.
double epochSeconds(const redis::StreamEntry& e) { return static_cast<double>(e.id.ms) / 1000.0; }

}  // namespace

std::string streamEvent(const StreamMapping& m, const Batch& records) {
  json list = json::array();
  for (const redis::StreamEntry* e : records) {
    json redis = {{"stream", m.stream.key},
                  {"id", e->id.toString()},
                  {"partitionKey", std::string(partitionKey(*e))},
                  {"approximateArrivalTimestamp", epochSeconds(*e)}};
    addFields(*e, redis);
    list.push_back({{"eventSource", "hearth:redis"},
                    {"eventSourceARN", m.event_source_arn},
                    {"eventID", e->id.toString()},
                    {"eventName", "hearth:redis:record"},
                    {"eventVersion", "1.0"},
                    {"awsRegion", m.region},
                    {"redis", std::move(redis)}});
  }
  // A key that is not UTF-8 is replaced in "stream" (the ARN carries it exactly).
  return json{{"Records", std::move(list)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

StreamPoller::StreamPoller(StreamMapping mapping, queue::EventQueue& queue,
                           queue::EventTarget& target, asio::any_io_executor executor,
                           StreamPollerOptions options)
    : mapping_(std::move(mapping)),
      queue_(queue),
      target_(target),
      executor_(executor),
      options_(options),
      client_(executor),
      wake_(executor) {}

void StreamPoller::start() {
  running_ = true;
  asio::co_spawn(executor_, run(), asio::detached);
}

asio::awaitable<void> StreamPoller::stop() {
  stopping_ = true;
  client_.close();  // a blocked XREAD fails at once
  while (running_) {
    wake_.cancel();
    asio::steady_timer tick(executor_, std::chrono::milliseconds(5));
    boost::system::error_code ignored;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

asio::awaitable<void> StreamPoller::sleep(std::chrono::milliseconds d) {
  if (stopping_) co_return;
  wake_.expires_after(d);
  boost::system::error_code ignored;
  co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

std::chrono::milliseconds StreamPoller::backoff(uint32_t failures) const {
  std::chrono::milliseconds d = options_.backoff_min;
  for (uint32_t i = 1; i < failures && d < options_.backoff_max; ++i) d *= 2;
  return std::min(d, options_.backoff_max);
}

asio::awaitable<Result<void>> StreamPoller::connect() {
  Result<void> connected = co_await client_.connect(mapping_.stream.host, mapping_.stream.port,
                                                    options_.connect_timeout);
  if (!connected) co_return connected;
  Result<void> selected = co_await redis::selectDb(client_, mapping_.stream.db);
  if (!selected) client_.close();
  co_return selected;
}

asio::awaitable<Result<redis::StreamId>> StreamPoller::startingPosition() {
  Result<std::optional<std::string>> stored = co_await queue_.position(mapping_.uuid);
  if (!stored) co_return stored.error();
  if (*stored) co_return redis::StreamId::parse(**stored);
  redis::StreamId start;  // TRIM_HORIZON: before the oldest entry
  if (mapping_.start_at_latest) {
    Result<redis::StreamId> last = co_await redis::lastId(client_, mapping_.stream.key);
    if (!last) co_return last.error();
    start = *last;
  }
  Result<void> saved = co_await queue_.advance(mapping_.uuid, start.toString(), {});
  if (!saved) co_return saved.error();
  co_return start;
}

asio::awaitable<Result<StreamPoller::Records>> StreamPoller::readRound(redis::StreamId after) {
  const uint32_t want = mapping_.batch_size * mapping_.parallelization_factor;
  Result<Records> round =
      co_await redis::readAfter(client_, mapping_.stream.key, after, want, options_.idle_block);
  if (!round || round->empty() || mapping_.batching_window.count() == 0) co_return round;
  // Batching window: keep reading until the round is full or the window has passed.
  const auto deadline = std::chrono::steady_clock::now() + mapping_.batching_window;
  while (round->size() < want && !stopping_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    Result<Records> more =
        co_await redis::readAfter(client_, mapping_.stream.key, round->back().id,
                                  want - static_cast<uint32_t>(round->size()), left);
    if (!more) co_return more.error();
    round->insert(round->end(), more->begin(), more->end());
  }
  co_return round;
}

asio::awaitable<void> StreamPoller::run() {
  std::optional<redis::StreamId> position;
  uint32_t failures = 0;
  while (!stopping_) {
    if (!client_.isOpen()) {
      if (Result<void> c = co_await connect(); !c) {
        last_result_ = "PROBLEM: Connection error. " + c.error().message;
        co_await sleep(backoff(++failures));
        continue;
      }
    }
    if (!position) {
      Result<redis::StreamId> start = co_await startingPosition();
      if (!start) {
        last_result_ = "PROBLEM: " + start.error().message;
        co_await sleep(backoff(++failures));
        continue;
      }
      position = *start;
    }
    Result<Records> round = co_await readRound(*position);
    if (!round) {
      if (!stopping_) {
        LOG_WARN("event source mapping {}: {}", mapping_.uuid, round.error().toString());
        last_result_ = "PROBLEM: " + round.error().message;
      }
      client_.close();
      co_await sleep(backoff(++failures));
      continue;
    }
    failures = 0;
    if (round->empty()) continue;

    queue::Handoff handoff = co_await processRound(*round);
    const std::string next = round->back().id.toString();
    // The position and the failures' hand-off go together; keep trying (a full disk) rather
    // than move on without them.
    for (uint32_t attempt = 1;; ++attempt) {
      Result<void> saved = co_await queue_.advance(mapping_.uuid, next, handoff);
      if (saved) break;
      LOG_WARN("event source mapping {}: {}", mapping_.uuid, saved.error().toString());
      if (stopping_) break;  // not stored: the round is read and run again after a restart
      co_await sleep(backoff(attempt));
    }
    position = round->back().id;
  }
  running_ = false;
}

asio::awaitable<queue::Handoff> StreamPoller::processRound(const Records& round) {
  queue::Handoff handoff;
  const uint32_t lanes = std::max<uint32_t>(mapping_.parallelization_factor, 1);
  std::vector<Batch> by_lane(lanes);
  for (const redis::StreamEntry& e : round) {
    by_lane[std::hash<std::string_view>{}(partitionKey(e)) % lanes].push_back(&e);
  }
  // Lanes run concurrently; the round is settled when the last one finishes.
  size_t pending = 0;
  asio::steady_timer all_done(executor_, asio::steady_timer::time_point::max());
  for (Batch& lane : by_lane) {
    if (lane.empty()) continue;
    ++pending;
    asio::co_spawn(executor_, processLane(std::move(lane), handoff),
                   [&pending, &all_done](std::exception_ptr) {
                     if (--pending == 0) all_done.cancel();
                   });
  }
  if (pending > 0) {
    boost::system::error_code ignored;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return handoff;
}

asio::awaitable<void> StreamPoller::processLane(Batch lane, queue::Handoff& handoff) {
  for (size_t i = 0; i < lane.size(); i += mapping_.batch_size) {
    const size_t end = std::min(lane.size(), i + mapping_.batch_size);
    co_await processBatch(
        Batch(lane.begin() + static_cast<ptrdiff_t>(i), lane.begin() + static_cast<ptrdiff_t>(end)),
        handoff);
  }
}

asio::awaitable<void> StreamPoller::processBatch(Batch batch, queue::Handoff& handoff) {
  uint32_t attempts = 0;  // invocations that ended in a function error
  uint32_t platform_failures = 0;
  std::string request_id;
  std::optional<queue::AttemptResult> last;
  for (;;) {
    if (mapping_.max_record_age_s >= 0) {
      const SystemTime oldest = arrival(*batch.front());
      if (std::chrono::system_clock::now() - oldest >
          std::chrono::seconds(mapping_.max_record_age_s)) {
        fail(batch, kRecordAgeExceeded, attempts, request_id, last ? &*last : nullptr, handoff);
        co_return;
      }
    }
    queue::Event event;
    event.payload = streamEvent(mapping_, batch);
    if (event.payload.size() > kMaxBatchPayloadBytes) {
      if (batch.size() == 1) {
        fail(batch, kRecordTooLarge, attempts, request_id, nullptr, handoff);
        co_return;
      }
      const auto half = batch.begin() + static_cast<ptrdiff_t>(batch.size() / 2);
      co_await processBatch(Batch(batch.begin(), half), handoff);
      co_await processBatch(Batch(half, batch.end()), handoff);
      co_return;
    }
    event.request_id = request_id = newUuid();
    event.target = mapping_.function;
    event.accepted_at = std::chrono::system_clock::now();
    Result<queue::AttemptResult> r = co_await target_.invoke(event);
    if (!r) {
      // Throttled, the function missing, the platform failing: not an attempt.
      last_result_ = "PROBLEM: " + r.error().message;
      co_await sleep(backoff(++platform_failures));
      if (stopping_) co_return;
      continue;
    }
    platform_failures = 0;
    if (!r->function_error) {
      last_result_ = "OK";
      co_return;
    }
    last_result_ = "PROBLEM: Function call failed";
    ++attempts;
    last = std::move(*r);
    if (mapping_.bisect_on_error && batch.size() > 1) {
      const auto half = batch.begin() + static_cast<ptrdiff_t>(batch.size() / 2);
      co_await processBatch(Batch(batch.begin(), half), handoff);
      co_await processBatch(Batch(half, batch.end()), handoff);
      co_return;
    }
    // MaximumRetryAttempts counts retries: the first failure is attempt 1, retry 0.
    if (mapping_.max_retry_attempts >= 0 &&
        attempts > static_cast<uint32_t>(mapping_.max_retry_attempts)) {
      fail(batch, kRetriesExhausted, attempts, request_id, &*last, handoff);
      co_return;
    }
    if (stopping_) co_return;
    co_await sleep(backoff(attempts));
  }
}

void StreamPoller::fail(const Batch& batch, std::string_view condition, uint32_t invoke_count,
                        const std::string& request_id, const queue::AttemptResult* response,
                        queue::Handoff& handoff) {
  json record = {
      {"version", "1.0"},
      {"timestamp", formatIsoTimestamp(std::chrono::system_clock::now())},
      {"requestContext",
       {{"requestId", request_id},
        {"functionArn", mapping_.function_arn},
        {"condition", condition},
        {"approximateInvokeCount", invoke_count}}},
      {"RedisStreamBatchInfo",
       {{"streamArn", mapping_.event_source_arn},
        {"startId", batch.front()->id.toString()},
        {"endId", batch.back()->id.toString()},
        {"batchSize", batch.size()},
        {"approximateArrivalOfFirstRecord", formatIsoTimestamp(arrival(*batch.front()))},
        {"approximateArrivalOfLastRecord", formatIsoTimestamp(arrival(*batch.back()))}}},
  };
  if (response) {
    json context = {{"statusCode", 200}, {"executedVersion", response->executed_version}};
    context["functionError"] = "Unhandled";
    record["responseContext"] = std::move(context);
  }
  const std::string text = record.dump(-1, ' ', false, json::error_handler_t::replace);
  LOG_WARN("event source mapping {}: records {}..{} {}", mapping_.uuid,
           batch.front()->id.toString(), batch.back()->id.toString(), condition);
  const std::optional<queue::Destination>& d = mapping_.on_failure;
  if (d && d->kind == queue::Destination::Kind::kFunction) {
    handoff.events.push_back(
        queue::NewEvent{newUuid(), d->function, text, std::chrono::system_clock::now(), 1});
    return;
  }
  // A queue of the built-in store, or (none configured) the account's default queue; the
  // entry's payload is the batch event, so a redrive hands the records to the function again.
  handoff.dead_letters.push_back(queue::NewDeadLetter{
      mapping_.function.account_id, d ? d->queue : std::string(queue::kDefaultDeadLetterQueue),
      text, request_id, mapping_.function, streamEvent(mapping_, batch)});
}

}  // namespace hearth::eventsources
