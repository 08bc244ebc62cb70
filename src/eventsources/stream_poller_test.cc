// StreamPoller against a real redis-server, the real SQLite queue (positions, hand-offs) and a
// fake function that records the batches it is given.
#include "eventsources/stream_poller.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/encoding.h"
#include "common/testing/temp_dir.h"
#include "eventsources/redis/testing/redis_server.h"
#include "queue/sqlite_event_queue.h"
#include "queue/testing/run.h"

namespace hearth::eventsources {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;
using queue::testing::runUntilDone;
using redis::testing::argv;
using redis::testing::RedisServer;
using std::chrono::milliseconds;

constexpr char kAccount[] = "111111111111";
constexpr char kKey[] = "orders";

// Fails a batch that holds a record with field fail=1; throttles the first `throttles` calls.
class FakeFunction final : public queue::EventTarget {
 public:
  std::optional<queue::EventPolicy> policy(const queue::FunctionTarget&) override {
    return queue::EventPolicy{};
  }
  std::string functionArn(const queue::FunctionTarget& f) override {
    return "arn:aws:lambda:us-east-1:" + f.account_id + ":function:" + f.function_name;
  }
  asio::awaitable<Result<queue::AttemptResult>> invoke(const queue::Event& e) override {
    if (throttles > 0) {
      --throttles;
      ++throttled;
      co_return makeError(ErrorCode::kTooManyRequests, "Rate Exceeded.");
    }
    json event = json::parse(e.payload);
    std::vector<json> records(event["Records"].begin(), event["Records"].end());
    calls.push_back(records);
    for (const json& r : records) {
      if (r["redis"].contains("fields") && r["redis"]["fields"].value("fail", "") == "1") {
        co_return queue::AttemptResult{true, R"({"errorType":"Error"})", "$LATEST"};
      }
    }
    for (const json& r : records) delivered.push_back(r);
    co_return queue::AttemptResult{false, "null", "$LATEST"};
  }

  std::vector<std::vector<json>> calls;  // every invocation's records
  std::vector<json> delivered;           // records of successful invocations, in order
  int throttles = 0;
  int throttled = 0;
};

class StreamPollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = RedisServer::unavailable()) GTEST_SKIP() << *why;
    auto server = RedisServer::start();
    ASSERT_TRUE(server.ok()) << server.error().toString();
    redis_ = std::move(*server);
    auto q = queue::SqliteEventQueue::open((dir_ / "queue.db").string(), io_.get_executor());
    ASSERT_TRUE(q.ok()) << q.error().toString();
    queue_ = std::move(*q);
    admin_ = std::make_unique<redis::Client>(io_.get_executor());
    ASSERT_TRUE(runUntilDone(io_, admin_->connect("127.0.0.1", redis_->port(), kTimeout)).ok());
  }
  void TearDown() override {
    if (poller_) runUntilDone(io_, poller_->stop());
    poller_.reset();
    admin_.reset();
    queue_.reset();
  }

  StreamMapping mapping() {
    StreamMapping m;
    m.uuid = "mapping-1";
    m.stream = redis::StreamArn{"", "", "127.0.0.1", redis_->port(), 0, kKey};
    m.event_source_arn = redis::formatStreamArn(m.stream);
    m.function = {kAccount, "consumer", ""};
    m.function_arn = fn_.functionArn(m.function);
    m.region = "us-east-1";
    m.batch_size = 10;
    return m;
  }

  void start(StreamMapping m) {
    StreamPollerOptions o;
    o.idle_block = milliseconds(50);
    o.backoff_min = milliseconds(5);
    o.backoff_max = milliseconds(20);
    poller_ = std::make_unique<StreamPoller>(std::move(m), *queue_, fn_, io_.get_executor(), o);
    poller_->start();
  }

  std::string xadd(std::vector<std::string> fields, std::string id = "*") {
    std::vector<std::string> args = argv("XADD", kKey, id);
    args.insert(args.end(), fields.begin(), fields.end());
    auto r = runUntilDone(io_, admin_->command(std::move(args), kTimeout));
    EXPECT_TRUE(r.ok() && r->kind == redis::Reply::Kind::kString) << (r ? r->describe() : "");
    return r.ok() ? r->str : std::string();
  }

  // Runs the io_context until `done()` holds (bounded: 10 s).
  template <typename Pred>
  void runUntil(Pred done) {
    for (int i = 0; i < 1000 && !done(); ++i) {
      io_.restart();
      io_.run_for(milliseconds(10));
    }
    ASSERT_TRUE(done()) << "condition not reached";
  }

  std::string storedPosition() {
    auto p = runUntilDone(io_, queue_->position("mapping-1"));
    return p.ok() ? p->value_or("") : "?";
  }

  std::vector<queue::DeadLetter> deadLetters(const std::string& q) {
    auto page = runUntilDone(io_, queue_->listDeadLetters(kAccount, q, 0, 100));
    return page.ok() ? page->entries : std::vector<queue::DeadLetter>{};
  }

  static std::vector<std::string> ids(const std::vector<json>& records) {
    std::vector<std::string> out;
    for (const json& r : records) out.push_back(r["eventID"]);
    return out;
  }

  static constexpr milliseconds kTimeout{5000};
  asio::io_context io_;
  std::unique_ptr<RedisServer> redis_;
  hearth::testing::TempDir tmp_{"hearth-stream"};
  const fs::path& dir_ = tmp_.path();
  std::unique_ptr<queue::SqliteEventQueue> queue_;
  std::unique_ptr<redis::Client> admin_;
  FakeFunction fn_;
  std::unique_ptr<StreamPoller> poller_;
};

TEST_F(StreamPollerTest, DeliversInOrderInBatchesAndResumesFromItsPosition) {
  std::vector<std::string> added;
  for (int i = 0; i < 25; ++i) added.push_back(xadd(argv("n", std::to_string(i))));
  start(mapping());
  runUntil([&] { return fn_.delivered.size() == 25 && storedPosition() == added.back(); });
  EXPECT_EQ(ids(fn_.delivered), added);
  ASSERT_EQ(fn_.calls.size(), 3u);
  EXPECT_EQ(fn_.calls[0].size(), 10u);
  EXPECT_EQ(fn_.calls[2].size(), 5u);
  const json& r = fn_.delivered[3];
  EXPECT_EQ(r["eventSource"], "hearth:redis");
  EXPECT_EQ(r["eventSourceARN"], mapping().event_source_arn);
  EXPECT_EQ(r["redis"]["stream"], kKey);
  EXPECT_EQ(r["redis"]["fields"], (json{{"n", "3"}}));
  EXPECT_EQ(poller_->lastProcessingResult(), "OK");

  // A new poller of the same mapping (a restart) starts after the stored position.
  runUntilDone(io_, poller_->stop());
  added.push_back(xadd(argv("n", "25")));
  fn_.delivered.clear();
  start(mapping());
  runUntil([&] { return fn_.delivered.size() == 1; });
  EXPECT_EQ(ids(fn_.delivered), std::vector<std::string>{added.back()});
}

TEST_F(StreamPollerTest, LatestStartsAfterWhatTheStreamHeldAtCreation) {
  xadd(argv("old", "1"));
  const std::string last = xadd(argv("old", "2"));
  StreamMapping m = mapping();
  m.start_at_latest = true;
  start(m);
  runUntil([&] { return storedPosition() == last; });
  const std::string fresh = xadd(argv("new", "1"));
  runUntil([&] { return fn_.delivered.size() == 1; });
  EXPECT_EQ(ids(fn_.delivered), std::vector<std::string>{fresh});
}

TEST_F(StreamPollerTest, BisectionIsolatesAPoisonRecordWhichGoesToOnFailure) {
  std::vector<std::string> added;
  for (int i = 0; i < 8; ++i) {
    added.push_back(xadd(i == 5 ? argv("n", "5", "fail", "1") : argv("n", std::to_string(i))));
  }
  StreamMapping m = mapping();
  m.bisect_on_error = true;
  m.max_retry_attempts = 1;
  m.on_failure = queue::Destination{
      queue::Destination::Kind::kDeadLetterQueue, "arn:aws:sqs:x", {}, kAccount, "failures"};
  start(m);
  runUntil([&] { return storedPosition() == added.back(); });
  std::vector<std::string> good = added;
  good.erase(good.begin() + 5);
  EXPECT_EQ(ids(fn_.delivered), good) << "every other record delivered, in order";
  std::vector<queue::DeadLetter> dl = deadLetters("failures");
  ASSERT_EQ(dl.size(), 1u);
  json record = json::parse(dl[0].entry.record);
  EXPECT_EQ(record["requestContext"]["condition"], "RetryAttemptsExhausted");
  EXPECT_EQ(record["requestContext"]["approximateInvokeCount"], 2);  // 1 + MaximumRetryAttempts
  EXPECT_EQ(record["RedisStreamBatchInfo"]["batchSize"], 1);
  EXPECT_EQ(record["RedisStreamBatchInfo"]["startId"], added[5]);
  EXPECT_EQ(record["RedisStreamBatchInfo"]["endId"], added[5]);
  EXPECT_EQ(record["responseContext"]["functionError"], "Unhandled");
  // The dead letter carries the batch event, so a redrive hands the record to the function.
  EXPECT_EQ(json::parse(dl[0].entry.payload)["Records"][0]["eventID"], added[5]);
  EXPECT_EQ(dl[0].entry.target.function_name, "consumer");
}

TEST_F(StreamPollerTest, WithoutBisectionTheWholeBatchIsRetriedThenHandedOn) {
  std::vector<std::string> added;
  for (int i = 0; i < 4; ++i) {
    added.push_back(xadd(i == 1 ? argv("fail", "1") : argv("n", std::to_string(i))));
  }
  StreamMapping m = mapping();
  m.max_retry_attempts = 2;
  start(m);
  runUntil([&] { return storedPosition() == added.back(); });
  EXPECT_EQ(fn_.calls.size(), 3u) << "one attempt and two retries";
  EXPECT_TRUE(fn_.delivered.empty());
  std::vector<queue::DeadLetter> dl = deadLetters("default");  // no OnFailure configured
  ASSERT_EQ(dl.size(), 1u);
  json record = json::parse(dl[0].entry.record);
  EXPECT_EQ(record["RedisStreamBatchInfo"]["batchSize"], 4);
  EXPECT_EQ(record["requestContext"]["approximateInvokeCount"], 3);

  // The stream moves on.
  const std::string next = xadd(argv("n", "after"));
  runUntil([&] { return fn_.delivered.size() == 1; });
  EXPECT_EQ(ids(fn_.delivered), std::vector<std::string>{next});
}

TEST_F(StreamPollerTest, ThrottlesAreNotAttempts) {
  const std::string id = xadd(argv("n", "1"));
  StreamMapping m = mapping();
  m.max_retry_attempts = 0;
  fn_.throttles = 3;
  start(m);
  runUntil([&] { return fn_.delivered.size() == 1; });
  EXPECT_EQ(fn_.throttled, 3);
  EXPECT_TRUE(deadLetters("default").empty());
}

TEST_F(StreamPollerTest, RecordsOlderThanTheirMaximumAgeAreHandedOnUnrun) {
  // Explicit ids: arrival times in 2001, far older than a minute.
  xadd(argv("n", "1"), "1000000000000-0");
  xadd(argv("n", "2"), "1000000000000-1");
  StreamMapping m = mapping();
  m.max_record_age_s = 60;
  start(m);
  runUntil([&] { return storedPosition() == "1000000000000-1"; });
  EXPECT_TRUE(fn_.calls.empty());
  std::vector<queue::DeadLetter> dl = deadLetters("default");
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(json::parse(dl[0].entry.record)["requestContext"]["condition"], "RecordAgeExceeded");
}

TEST_F(StreamPollerTest, ParallelLanesKeepEachPartitionKeysOrder) {
  std::map<std::string, std::vector<std::string>> by_key;
  std::vector<std::string> added;
  for (int i = 0; i < 60; ++i) {
    const std::string key = "k" + std::to_string(i % 6);
    added.push_back(xadd(argv("partitionKey", key, "n", std::to_string(i))));
    by_key[key].push_back(added.back());
  }
  StreamMapping m = mapping();
  m.parallelization_factor = 3;
  m.batch_size = 4;
  start(m);
  runUntil([&] { return fn_.delivered.size() == 60 && storedPosition() == added.back(); });
  std::map<std::string, std::vector<std::string>> seen;
  for (const json& r : fn_.delivered) seen[r["redis"]["partitionKey"]].push_back(r["eventID"]);
  EXPECT_EQ(seen, by_key);
  for (const auto& call : fn_.calls) EXPECT_LE(call.size(), 4u);
}

TEST_F(StreamPollerTest, BatchesOverTheInvokeLimitAreSplitAndOversizedRecordsHandedOn) {
  const std::string big(2 * 1024 * 1024, 'x');  // four fit no batch; one fits
  std::vector<std::string> added;
  for (int i = 0; i < 4; ++i) added.push_back(xadd(argv("blob", big)));
  const std::string huge = xadd(argv("blob", std::string(kMaxBatchPayloadBytes, 'y')));
  start(mapping());
  runUntil([&] { return storedPosition() == huge; });
  EXPECT_EQ(ids(fn_.delivered), added);
  for (const auto& call : fn_.calls) EXPECT_LE(call.size(), 2u);
  std::vector<queue::DeadLetter> dl = deadLetters("default");
  ASSERT_EQ(dl.size(), 1u);
  json record = json::parse(dl[0].entry.record);
  EXPECT_EQ(record["requestContext"]["condition"], "RecordTooLarge");
  EXPECT_EQ(record["RedisStreamBatchInfo"]["startId"], huge);
}

TEST_F(StreamPollerTest, BinaryFieldsArriveLosslessly) {
  const std::string binary("\xff\x00z", 3);
  xadd(argv("blob", binary, "blob", "again"));
  start(mapping());
  runUntil([&] { return fn_.delivered.size() == 1; });
  const json& redis = fn_.delivered[0]["redis"];
  ASSERT_FALSE(redis.contains("fields"));
  ASSERT_EQ(redis["fieldsBase64"].size(), 2u);
  EXPECT_EQ(redis["fieldsBase64"][0][1], base64Encode(binary));
  EXPECT_EQ(redis["fieldsBase64"][1][0], base64Encode("blob"));
}

}  // namespace
}  // namespace hearth::eventsources
