#include "queue/poller.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/ids.h"
#include "common/log.h"
#include "queue/invocation_record.h"

namespace hearth::queue {
namespace {

namespace asio = boost::asio;

SystemTime now() { return std::chrono::system_clock::now(); }

SystemTime earlier(SystemTime t, std::optional<SystemTime> limit) {
  return limit && *limit < t ? *limit : t;
}

// Sleeps on `timer` until it is cancelled (or, as a safety net, a second passes).
asio::awaitable<void> waitOn(asio::steady_timer& timer) {
  timer.expires_after(std::chrono::seconds(1));
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

}  // namespace

Poller::Poller(EventQueue& queue, EventTarget& target, asio::any_io_executor executor,
               PollerOptions options)
    : queue_(queue),
      target_(target),
      executor_(std::move(executor)),
      options_(options),
      wake_(executor_) {}

void Poller::start() {
  running_ = true;
  asio::co_spawn(executor_, run(), asio::detached);
}

asio::awaitable<void> Poller::stop() {
  stopping_ = true;
  queue_.close();  // wakes run() out of lease()
  wake_.cancel();
  while (running_ || in_flight_ > 0) co_await waitOn(wake_);
}

void Poller::finished() {
  --in_flight_;
  wake_.cancel();
}

asio::awaitable<void> Poller::run() {
  while (!stopping_) {
    if (in_flight_ >= options_.concurrency) {
      co_await waitOn(wake_);
      continue;
    }
    Result<std::vector<Event>> leased =
        co_await queue_.lease(options_.concurrency - in_flight_, options_.visibility);
    if (!leased) {
      LOG_WARN("event poller: {}", leased.error().toString());
      co_await waitOn(wake_);
      continue;
    }
    for (Event& e : *leased) {
      ++in_flight_;
      asio::co_spawn(executor_, process(std::move(e)), asio::detached);
    }
  }
  running_ = false;
  wake_.cancel();
}

asio::awaitable<void> Poller::process(Event event) {
  std::optional<EventPolicy> policy = target_.policy(event.target);
  if (!policy) {
    co_await settle(event, policy, kConditionFunctionNotFound, event.attempts, nullptr);
    co_return finished();
  }
  const SystemTime expiry = event.accepted_at + policy->max_age;
  if (now() >= expiry) {
    co_await settle(event, policy, kConditionEventAgeExceeded, event.attempts, nullptr);
    co_return finished();
  }

  Result<AttemptResult> attempt = co_await target_.invoke(event);
  const std::pair<std::string, std::string> key{event.target.account_id,
                                                event.target.function_name};
  if (!attempt) {
    if (attempt.error().code == ErrorCode::kNotFound) {
      co_await settle(event, policy, kConditionFunctionNotFound, event.attempts, nullptr);
    } else {
      if (attempt.error().code != ErrorCode::kTooManyRequests) {
        LOG_WARN("event {} for {}: {}", event.request_id, event.target.function_name,
                 attempt.error().toString());
      }
      backOff(event, expiry);
    }
    co_return finished();
  }
  backoffs_.erase(key);

  const uint32_t attempts = event.attempts + 1;
  if (!attempt->function_error) {
    co_await settle(event, policy, kConditionSuccess, attempts, &*attempt);
  } else if (attempts > policy->max_retries) {
    co_await settle(event, policy, kConditionRetriesExhausted, attempts, &*attempt);
  } else {
    const SystemTime retry_at = earlier(now() + options_.retry_base * attempts, expiry);
    if (Result<void> r = queue_.reschedule(event, attempts, retry_at); !r) {
      LOG_WARN("event {}: {}", event.request_id, r.error().toString());
    }
  }
  co_return finished();
}

void Poller::backOff(const Event& event, std::optional<SystemTime> expiry) {
  Backoff& b = backoffs_[{event.target.account_id, event.target.function_name}];
  const SystemTime at = now();
  if (at >= b.until) {
    b.steps = std::min<uint32_t>(b.steps + 1, 31);
    std::chrono::milliseconds delay = options_.backoff_max;
    if (options_.backoff_min * (int64_t{1} << (b.steps - 1)) < delay) {
      delay = options_.backoff_min * (int64_t{1} << (b.steps - 1));
    }
    b.until = at + delay;
    queue_.pause(event.target, b.until);
  }
  if (Result<void> r = queue_.reschedule(event, event.attempts, earlier(b.until, expiry)); !r) {
    LOG_WARN("event {}: {}", event.request_id, r.error().toString());
  }
}

asio::awaitable<void> Poller::settle(const Event& event, const std::optional<EventPolicy>& policy,
                                     std::string_view condition, uint32_t invoke_count,
                                     const AttemptResult* response) {
  const SystemTime at = now();
  const std::string arn = target_.functionArn(event.target);
  InvocationOutcome outcome{at,           event.request_id, arn,         condition,
                            invoke_count, event.payload,    std::nullopt};
  if (response) {
    outcome.response = InvocationOutcome::Response{response->executed_version,
                                                   response->function_error, response->payload};
  }

  std::vector<const Destination*> destinations;
  const bool success = condition == kConditionSuccess;
  if (policy) {
    if (success && policy->on_success) destinations.push_back(&*policy->on_success);
    if (!success && policy->on_failure) destinations.push_back(&*policy->on_failure);
    if (!success && policy->dead_letter) destinations.push_back(&*policy->dead_letter);
  }
  Destination fallback;
  if (!success && destinations.empty()) {
    fallback.account_id = event.target.account_id;
    fallback.queue = kDefaultDeadLetterQueue;
    destinations.push_back(&fallback);
  }

  Handoff handoff;
  if (!destinations.empty()) {
    const std::string record = invocationRecord(outcome);
    for (const Destination* d : destinations) {
      if (d->kind == Destination::Kind::kFunction && event.depth < kMaxDestinationDepth) {
        handoff.events.push_back(NewEvent{newUuid(), d->function, record, at, event.depth + 1});
      } else if (d->kind == Destination::Kind::kFunction) {
        LOG_WARN(
            "event {}: destination {} would be hop {} of a loop; the record goes to the "
            "'{}' dead-letter queue",
            event.request_id, d->arn, event.depth + 1, kDefaultDeadLetterQueue);
        handoff.dead_letters.push_back(
            NewDeadLetter{event.target.account_id, kDefaultDeadLetterQueue, record,
                          event.request_id, event.target, event.payload});
      } else {
        handoff.dead_letters.push_back(NewDeadLetter{
            d->account_id, d->queue, record, event.request_id, event.target, event.payload});
      }
    }
  }
  Result<void> done = co_await queue_.complete(event, std::move(handoff));
  if (done) co_return;
  LOG_WARN("event {} ({}): {}", event.request_id, condition, done.error().toString());
  if (done.error().code != ErrorCode::kConflict) {
    // Nothing changed: the event is tried again after a backoff, from the start.
    backOff(event, std::nullopt);
  }
}

}  // namespace hearth::queue
