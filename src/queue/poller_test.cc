#include "queue/poller.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "common/testing/temp_dir.h"
#include "queue/sqlite_event_queue.h"
#include "queue/testing/run.h"

namespace hearth::queue {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using testing::runUntilDone;

constexpr char kAccount[] = "111111111111";

// Functions by name: "ok" succeeds, "fails" always returns a function error, "busy" is throttled
// `throttles` times and then succeeds, "broken" fails on the platform side once, "dest" records
// what it gets; any other name does not exist.
class FakeTarget final : public EventTarget {
 public:
  std::optional<EventPolicy> policy(const FunctionTarget& f) override {
    if (!known(f.function_name)) return std::nullopt;
    auto it = policies.find(f.function_name);
    return it == policies.end() ? EventPolicy{} : it->second;
  }
  std::string functionArn(const FunctionTarget& f) override {
    return "arn:aws:lambda:us-east-1:" + f.account_id + ":function:" + f.function_name + ":$LATEST";
  }
  asio::awaitable<Result<AttemptResult>> invoke(const Event& e) override {
    calls[e.target.function_name].push_back(e.request_id);
    call_times[e.target.function_name].push_back(std::chrono::steady_clock::now());
    payloads[e.target.function_name].push_back(e.payload);
    const std::string& name = e.target.function_name;
    if (name == "busy" && throttles > 0) {
      --throttles;
      co_return makeError(ErrorCode::kTooManyRequests, "Rate Exceeded.");
    }
    if (name == "broken" && broken_once) {
      broken_once = false;
      co_return makeError(ErrorCode::kSandbox, "could not create the environment");
    }
    if (name == "fails") {
      co_return AttemptResult{true, R"({"errorType":"Error","errorMessage":"boom"})", "$LATEST"};
    }
    co_return AttemptResult{false, R"({"ok":true})", "$LATEST"};
  }

  static bool known(const std::string& name) {
    return name == "ok" || name == "fails" || name == "busy" || name == "broken" || name == "dest";
  }

  std::map<std::string, EventPolicy> policies;
  std::map<std::string, std::vector<std::string>> calls;  // function -> request ids, in order
  std::map<std::string, std::vector<std::string>> payloads;
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> call_times;
  int throttles = 0;
  bool broken_once = true;
};

class PollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PollerOptions options;
    options.concurrency = 4;
    options.retry_base = milliseconds(20);
    options.backoff_min = milliseconds(5);
    options.backoff_max = milliseconds(40);
    startPoller(options);
  }

  void startPoller(PollerOptions options) {
    if (poller_) runUntilDone(io_, poller_->stop());
    auto q = SqliteEventQueue::open((dir_ / "queue.db").string(), io_.get_executor());
    ASSERT_TRUE(q.ok()) << q.error().toString();
    poller_.reset();
    queue_ = std::move(q).value();  // stop() closed the previous one
    poller_ = std::make_unique<Poller>(*queue_, target_, io_.get_executor(), options);
    poller_->start();
  }
  void TearDown() override {
    runUntilDone(io_, poller_->stop());
    poller_.reset();
    queue_.reset();
  }

  void append(const std::string& function, const std::string& request_id,
              std::string payload = "{\"n\":1}",
              SystemTime accepted_at = std::chrono::system_clock::now()) {
    Result<void> r = runUntilDone(
        io_, queue_->append(NewEvent{request_id, {kAccount, function, ""}, payload, accepted_at}));
    ASSERT_TRUE(r.ok()) << r.error().toString();
  }

  // Runs the poller until the queue is empty (bounded, so a bug fails instead of hanging).
  void drain() {
    for (int i = 0; i < 1000 && (queue_->depth() > 0 || poller_->inFlight() > 0); ++i) {
      io_.restart();
      io_.run_for(milliseconds(10));
    }
    ASSERT_EQ(queue_->depth(), 0u) << "the queue did not drain";
  }

  std::vector<DeadLetter> deadLetters(const std::string& queue) {
    auto page = runUntilDone(io_, queue_->listDeadLetters(kAccount, queue, 0, 100));
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->entries : std::vector<DeadLetter>{};
  }

  asio::io_context io_;
  hearth::testing::TempDir tmp_{"hearth-poller"};
  const fs::path& dir_ = tmp_.path();
  FakeTarget target_;
  std::unique_ptr<SqliteEventQueue> queue_;
  std::unique_ptr<Poller> poller_;
};

TEST_F(PollerTest, SuccessGoesToOnSuccessWithTheRecord) {
  EventPolicy p;
  p.on_success = Destination{Destination::Kind::kFunction, "arn:dest",
                             FunctionTarget{kAccount, "dest", ""}, "", ""};
  target_.policies["ok"] = p;
  append("ok", "req-ok", R"({"order":42})");
  drain();
  ASSERT_EQ(target_.calls["ok"], (std::vector<std::string>{"req-ok"}));
  ASSERT_EQ(target_.payloads["dest"].size(), 1u);
  EXPECT_NE(target_.calls["dest"][0], "req-ok") << "a destination invoke has its own request id";
  json record = json::parse(target_.payloads["dest"][0]);
  EXPECT_EQ(record["requestContext"]["requestId"], "req-ok");
  EXPECT_EQ(record["requestContext"]["condition"], "Success");
  EXPECT_EQ(record["requestContext"]["approximateInvokeCount"], 1);
  EXPECT_EQ(record["requestPayload"]["order"], 42);
  EXPECT_EQ(record["responsePayload"]["ok"], true);
  EXPECT_TRUE(deadLetters("default").empty());
}

TEST_F(PollerTest, ADestinationLoopStopsAfterSixteenHops) {
  EventPolicy p;
  p.on_success = Destination{Destination::Kind::kFunction, "arn:ok",
                             FunctionTarget{kAccount, "ok", ""}, "", ""};
  target_.policies["ok"] = p;  // every success invokes the function again
  append("ok", "req-loop");
  drain();
  EXPECT_EQ(target_.calls["ok"].size(), 1 + kMaxDestinationDepth);
  std::vector<DeadLetter> dl = deadLetters("default");
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(json::parse(dl[0].entry.record)["requestContext"]["condition"], "Success");
}

TEST_F(PollerTest, AFailingFunctionIsTriedOnePlusMaxRetriesTimesThenDeadLettered) {
  for (uint32_t retries : {0u, 1u, 2u}) {
    SCOPED_TRACE(retries);
    target_.calls.clear();
    EventPolicy p;
    p.max_retries = retries;
    target_.policies["fails"] = p;
    const std::string id = "req-fails-" + std::to_string(retries);
    append("fails", id);
    drain();
    EXPECT_EQ(target_.calls["fails"], std::vector<std::string>(1 + retries, id))
        << "the same request id on every attempt";
    std::vector<DeadLetter> dl = deadLetters("default");
    ASSERT_FALSE(dl.empty());
    json record = json::parse(dl.back().entry.record);
    EXPECT_EQ(record["requestContext"]["requestId"], id);
    EXPECT_EQ(record["requestContext"]["condition"], "RetriesExhausted");
    EXPECT_EQ(record["requestContext"]["approximateInvokeCount"], 1 + retries);
    EXPECT_EQ(record["responseContext"]["functionError"], "Unhandled");
    EXPECT_EQ(record["responsePayload"]["errorMessage"], "boom");
    EXPECT_EQ(dl.back().entry.payload, "{\"n\":1}");
    EXPECT_EQ(dl.back().entry.target.function_name, "fails");
  }
}

TEST_F(PollerTest, FailuresGoToOnFailureAndTheDeadLetterQueueNotTheDefault) {
  EventPolicy p;
  p.max_retries = 0;
  p.on_failure =
      Destination{Destination::Kind::kDeadLetterQueue, "arn:aws:sqs:x", {}, kAccount, "on-failure"};
  p.dead_letter =
      Destination{Destination::Kind::kDeadLetterQueue, "arn:aws:sqs:y", {}, kAccount, "dlq"};
  target_.policies["fails"] = p;
  append("fails", "req-1");
  drain();
  EXPECT_EQ(deadLetters("on-failure").size(), 1u);
  EXPECT_EQ(deadLetters("dlq").size(), 1u);
  EXPECT_TRUE(deadLetters("default").empty());
}

TEST_F(PollerTest, ThrottlesAndPlatformFailuresAreNotAttempts) {
  target_.throttles = 3;
  EventPolicy p;
  p.max_retries = 0;  // a single counted failure would dead-letter it
  target_.policies["busy"] = p;
  target_.policies["broken"] = p;
  append("busy", "req-busy");
  append("broken", "req-broken");
  drain();
  EXPECT_EQ(target_.calls["busy"].size(), 4u);  // 3 throttles, then it ran
  EXPECT_EQ(target_.calls["broken"].size(), 2u);
  EXPECT_TRUE(deadLetters("default").empty());
}

TEST_F(PollerTest, EventsThrottledTogetherShareOneBackoffStep) {
  // Eight events, each throttled once, four at a time: the backoff grows per round of throttles
  // (20, then 40 ms), not per event (which would reach 20 ms << 7 = 2.56 s).
  PollerOptions options;
  options.concurrency = 4;
  options.backoff_min = milliseconds(20);
  options.backoff_max = std::chrono::seconds(10);
  startPoller(options);
  target_.throttles = 8;
  for (int i = 0; i < 8; ++i) append("busy", "req-" + std::to_string(i));
  drain();
  const auto& times = target_.call_times["busy"];
  ASSERT_EQ(times.size(), 16u);
  EXPECT_LT(times.back() - times.front(), std::chrono::seconds(1));
}

TEST_F(PollerTest, AnEventOlderThanItsMaximumAgeIsNotInvoked) {
  EventPolicy p;
  p.max_age = std::chrono::seconds(60);
  p.on_failure =
      Destination{Destination::Kind::kDeadLetterQueue, "arn:aws:sqs:x", {}, kAccount, "expired"};
  target_.policies["ok"] = p;
  append("ok", "req-old", "{}", std::chrono::system_clock::now() - std::chrono::seconds(61));
  drain();
  EXPECT_TRUE(target_.calls["ok"].empty());
  std::vector<DeadLetter> dl = deadLetters("expired");
  ASSERT_EQ(dl.size(), 1u);
  json record = json::parse(dl[0].entry.record);
  EXPECT_EQ(record["requestContext"]["condition"], "EventAgeExceeded");
  EXPECT_EQ(record["requestContext"]["approximateInvokeCount"], 0);
  EXPECT_FALSE(record.contains("responseContext"));
}

TEST_F(PollerTest, ThrottlingUntilTheMaximumAgeEndsInEventAgeExceeded) {
  target_.throttles = 1'000'000;
  EventPolicy p;
  p.max_age = std::chrono::seconds(60);
  target_.policies["busy"] = p;
  // Accepted 59.8 s ago: throttled for the rest of its age, then dropped as too old.
  append("busy", "req-late", "{}",
         std::chrono::system_clock::now() - std::chrono::milliseconds(59800));
  drain();
  EXPECT_GE(target_.calls["busy"].size(), 2u);
  std::vector<DeadLetter> dl = deadLetters("default");
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(json::parse(dl[0].entry.record)["requestContext"]["condition"], "EventAgeExceeded");
}

TEST_F(PollerTest, EventsOfADeletedFunctionAreKept) {
  append("deleted-meanwhile", "req-gone");
  drain();
  std::vector<DeadLetter> dl = deadLetters("default");
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(json::parse(dl[0].entry.record)["requestContext"]["condition"], "FunctionNotFound");
  EXPECT_EQ(dl[0].entry.request_id, "req-gone");
}

}  // namespace
}  // namespace hearth::queue
