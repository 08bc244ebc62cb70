#include "queue/sqlite_event_queue.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>
#include <set>

#include "common/testing/temp_dir.h"
#include "queue/testing/run.h"

namespace hearth::queue {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::runUntilDone;

const FunctionTarget kFn{"111111111111", "orders", ""};
const FunctionTarget kDest{"111111111111", "audit", "$LATEST"};

NewEvent event(std::string request_id, std::string payload, FunctionTarget target = kFn) {
  return NewEvent{std::move(request_id), std::move(target), std::move(payload),
                  std::chrono::system_clock::now()};
}

class SqliteEventQueueTest : public ::testing::Test {
 protected:
  void TearDown() override { queue_.reset(); }

  // (Re)opens the queue; the previous instance is destroyed first, as a restart would.
  SqliteEventQueue& open(SqliteQueueOptions options = {}) {
    queue_.reset();
    auto q = SqliteEventQueue::open((dir_ / "queue.db").string(), io_.get_executor(), options);
    EXPECT_TRUE(q.ok()) << q.error().toString();
    queue_ = std::move(q).value();
    return *queue_;
  }

  Result<void> append(NewEvent e) { return runUntilDone(io_, queue_->append(std::move(e))); }
  std::vector<Event> lease(size_t max, milliseconds visibility = seconds(60)) {
    Result<std::vector<Event>> r = runUntilDone(io_, queue_->lease(max, visibility));
    EXPECT_TRUE(r.ok()) << r.error().toString();
    return r.ok() ? std::move(r).value() : std::vector<Event>{};
  }
  Result<void> complete(const Event& e, Handoff h = {}) {
    return runUntilDone(io_, queue_->complete(e, std::move(h)));
  }

  asio::io_context io_;
  hearth::testing::TempDir tmp_{"hearth-queue"};
  const fs::path& dir_ = tmp_.path();
  std::unique_ptr<SqliteEventQueue> queue_;
};

TEST_F(SqliteEventQueueTest, AcceptedEventsSurviveARestartWithTheirIdsPayloadsAndAttempts) {
  open();
  std::string binary("\0\x01\xff payload", 12);
  ASSERT_TRUE(append(event("req-1", binary)).ok());
  ASSERT_TRUE(append(event("req-2", "{\"n\":2}")).ok());
  std::vector<Event> leased = lease(1);
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].request_id, "req-1");
  // Times are stored in whole milliseconds.
  const SystemTime later =
      fromEpochMillis(toEpochMillis(std::chrono::system_clock::now() + milliseconds(300)));
  ASSERT_TRUE(queue_->reschedule(leased[0], 2, later).ok());

  open();  // a restart: only what reached the database is known
  EXPECT_EQ(queue_->depth(), 2u);
  std::map<std::string, Event> seen;
  while (seen.size() < 2) {
    for (Event& e : lease(10)) {
      // req-1's retry time was persisted: it is not handed out before it.
      if (e.request_id == "req-1") {
        EXPECT_GE(std::chrono::system_clock::now(), later);
      }
      seen.emplace(e.request_id, std::move(e));
    }
  }
  EXPECT_EQ(seen["req-1"].attempts, 2u);
  EXPECT_EQ(seen["req-1"].payload, binary) << "read back from disk: not cached after a restart";
  EXPECT_EQ(seen["req-2"].payload, "{\"n\":2}");
  EXPECT_EQ(seen["req-2"].target, kFn);
  EXPECT_EQ(seen["req-2"].attempts, 0u);
  ASSERT_TRUE(complete(seen["req-2"]).ok());

  open();
  EXPECT_EQ(queue_->depth(), 1u) << "completed events stay gone";
}

TEST_F(SqliteEventQueueTest, ConcurrentAppendsAreAllStoredAndLeasedOnce) {
  open(SqliteQueueOptions{.payload_cache_bytes = 1000});  // most payloads come back from disk
  constexpr int kEvents = 500;
  std::vector<std::future<Result<void>>> pending;
  for (int i = 0; i < kEvents; ++i) {
    pending.push_back(asio::co_spawn(
        io_, queue_->append(event("req-" + std::to_string(i), "payload-" + std::to_string(i))),
        asio::use_future));
  }
  io_.restart();
  io_.run_for(seconds(30));  // the appends complete; nothing else is pending
  for (auto& f : pending) {
    Result<void> r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().toString();
  }
  EXPECT_EQ(queue_->depth(), static_cast<size_t>(kEvents));

  std::map<std::string, std::string> seen;
  for (std::vector<Event> batch = lease(64); !batch.empty(); batch = lease(64)) {
    for (const Event& e : batch) {
      EXPECT_TRUE(seen.emplace(e.request_id, e.payload).second) << "leased twice: " << e.request_id;
      ASSERT_TRUE(complete(e).ok());
    }
    if (queue_->depth() == 0) break;
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(kEvents));
  for (const auto& [id, payload] : seen) EXPECT_EQ(payload, "payload-" + id.substr(4));
}

TEST_F(SqliteEventQueueTest, CompleteHandsOffAtomically) {
  open();
  ASSERT_TRUE(append(event("req-1", "{}")).ok());
  std::vector<Event> leased = lease(1);
  ASSERT_EQ(leased.size(), 1u);
  Handoff handoff;
  handoff.events.push_back(event("dest-1", "{\"record\":1}", kDest));
  handoff.dead_letters.push_back(
      NewDeadLetter{kFn.account_id, "failures", "{\"record\":1}", "req-1", kFn, "{}"});
  ASSERT_TRUE(complete(leased[0], std::move(handoff)).ok());

  open();
  std::vector<Event> after = lease(10);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].request_id, "dest-1");
  EXPECT_EQ(after[0].target, kDest);
  auto page = runUntilDone(io_, queue_->listDeadLetters(kFn.account_id, "failures", 0, 10));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].entry.request_id, "req-1");
  EXPECT_EQ(page->entries[0].entry.payload, "{}");
}

TEST_F(SqliteEventQueueTest, AStaleLeaseIsRefused) {
  open();
  ASSERT_TRUE(append(event("req-1", "{}")).ok());
  std::vector<Event> first = lease(1, milliseconds(1));
  ASSERT_EQ(first.size(), 1u);
  std::vector<Event> second = lease(1);  // waits for the first lease to expire
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, first[0].id);
  Result<void> stale = complete(first[0]);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ(queue_->reschedule(first[0], 1, std::chrono::system_clock::now()).error().code,
            ErrorCode::kConflict);
  EXPECT_TRUE(complete(second[0]).ok());
  EXPECT_EQ(queue_->depth(), 0u);
}

TEST_F(SqliteEventQueueTest, LeaseWaitsForAnAppendAndCloseWakesIt) {
  open();
  auto waiting = asio::co_spawn(io_, queue_->lease(10, seconds(60)), asio::use_future);
  io_.restart();
  io_.run_for(milliseconds(50));
  ASSERT_EQ(waiting.wait_for(seconds(0)), std::future_status::timeout);
  ASSERT_TRUE(append(event("req-1", "{}")).ok());
  io_.run_for(milliseconds(50));
  ASSERT_EQ(waiting.wait_for(seconds(0)), std::future_status::ready);
  Result<std::vector<Event>> got = waiting.get();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);

  auto closing = asio::co_spawn(io_, queue_->lease(10, seconds(60)), asio::use_future);
  io_.restart();
  io_.run_for(milliseconds(20));
  queue_->close();
  io_.run_for(milliseconds(20));
  ASSERT_EQ(closing.wait_for(seconds(0)), std::future_status::ready);
  EXPECT_TRUE(closing.get()->empty());
}

TEST_F(SqliteEventQueueTest, AFullQueueRefusesNewEventsAndKeepsTheAcceptedOnes) {
  open(SqliteQueueOptions{.max_database_bytes = 256 * 1024});
  const std::string payload(16 * 1024, 'x');
  std::set<std::string> accepted;
  Result<void> r;
  for (int i = 0; i < 1000; ++i) {
    std::string id = "req-" + std::to_string(i);
    r = append(event(id, payload));
    if (!r) break;
    accepted.insert(id);
  }
  ASSERT_FALSE(r.ok()) << "the limit was never reached";
  EXPECT_EQ(r.error().code, ErrorCode::kStorageFull) << r.error().toString();
  EXPECT_NE(r.error().message.find("full"), std::string::npos);
  ASSERT_GT(accepted.size(), 3u);
  EXPECT_EQ(queue_->depth(), accepted.size()) << "a refused event must not be scheduled";

  // Everything accepted is there after a restart; completing some makes room again.
  open(SqliteQueueOptions{.max_database_bytes = 256 * 1024});
  EXPECT_EQ(queue_->depth(), accepted.size());
  std::vector<Event> leased = lease(3);
  ASSERT_EQ(leased.size(), 3u);
  for (const Event& e : leased) {
    EXPECT_TRUE(accepted.count(e.request_id));
    EXPECT_EQ(e.payload, payload);
    ASSERT_TRUE(complete(e).ok());
  }
  EXPECT_TRUE(append(event("after-space-freed", payload)).ok());
}

TEST_F(SqliteEventQueueTest, DeadLettersPageRedriveAndDelete) {
  open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(append(event("req-" + std::to_string(i), "p" + std::to_string(i))).ok());
  }
  for (const Event& e : lease(10)) {
    Handoff h;
    h.dead_letters.push_back(
        NewDeadLetter{kFn.account_id, "default", "{}", e.request_id, e.target, e.payload});
    ASSERT_TRUE(complete(e, std::move(h)).ok());
  }
  ASSERT_EQ(queue_->depth(), 0u);

  auto first = runUntilDone(io_, queue_->listDeadLetters(kFn.account_id, "default", 0, 2));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->entries.size(), 2u);
  ASSERT_TRUE(first->next_after.has_value());
  auto rest =
      runUntilDone(io_, queue_->listDeadLetters(kFn.account_id, "default", *first->next_after, 10));
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->entries.size(), 3u);
  EXPECT_FALSE(rest->next_after.has_value());
  // Another account sees none of them.
  auto other = runUntilDone(io_, queue_->listDeadLetters("222222222222", "default", 0, 10));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->entries.empty());
  auto foreign = runUntilDone(io_, queue_->redrive("222222222222", "default", {}));
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(*foreign, 0u);

  // Redrive two by id: they are events again with their request ids and payloads.
  std::vector<uint64_t> two{first->entries[0].id, first->entries[1].id, 999999};
  auto moved = runUntilDone(io_, queue_->redrive(kFn.account_id, "default", two));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 2u);
  std::vector<Event> redriven = lease(10);
  ASSERT_EQ(redriven.size(), 2u);
  EXPECT_EQ(redriven[0].request_id, "req-0");
  EXPECT_EQ(redriven[0].payload, "p0");
  EXPECT_EQ(redriven[0].attempts, 0u);

  auto deleted = runUntilDone(io_, queue_->deleteDeadLetters(kFn.account_id, "default", {}));
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 3u);
  auto none = runUntilDone(io_, queue_->listDeadLetters(kFn.account_id, "default", 0, 10));
  EXPECT_TRUE(none->entries.empty());
}

TEST_F(SqliteEventQueueTest, StreamPositionsAdvanceAtomicallyWithTheirHandoffs) {
  open();
  auto none = runUntilDone(io_, queue_->position("mapping-1"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(runUntilDone(io_, queue_->advance("mapping-1", "1700000000000-0", {})).ok());
  Handoff failed;
  failed.dead_letters.push_back(
      NewDeadLetter{kFn.account_id, "stream-failures", "{}", "req-batch", kFn, "{\"Records\":[]}"});
  failed.events.push_back(event("dest-1", "{}", kDest));
  ASSERT_TRUE(runUntilDone(io_, queue_->advance("mapping-1", "1700000000005-2", failed)).ok());
  EXPECT_EQ(queue_->depth(), 1u) << "the hand-off's event is scheduled";

  open();
  auto stored = runUntilDone(io_, queue_->position("mapping-1"));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->value_or(""), "1700000000005-2");
  EXPECT_EQ(queue_->depth(), 1u);
  auto page = runUntilDone(io_, queue_->listDeadLetters(kFn.account_id, "stream-failures", 0, 10));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].entry.request_id, "req-batch");

  // A hand-off that cannot be stored leaves the position where it was.
  open(SqliteQueueOptions{.max_database_bytes = 64 * 1024});
  Handoff huge;
  huge.dead_letters.push_back(NewDeadLetter{kFn.account_id, "stream-failures", "{}", "req-big", kFn,
                                            std::string(256 * 1024, 'x')});
  Result<void> full = runUntilDone(io_, queue_->advance("mapping-1", "1700000000009-0", huge));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, ErrorCode::kStorageFull);
  EXPECT_EQ(runUntilDone(io_, queue_->position("mapping-1"))->value_or(""), "1700000000005-2");

  ASSERT_TRUE(runUntilDone(io_, queue_->forgetPosition("mapping-1")).ok());
  EXPECT_FALSE(runUntilDone(io_, queue_->position("mapping-1"))->has_value());
  EXPECT_TRUE(runUntilDone(io_, queue_->forgetPosition("mapping-1")).ok());
}

TEST_F(SqliteEventQueueTest, RefusesAnotherApplicationsDatabase) {
  {
    auto other = store::sqlite::Database::open(
        (dir_ / "queue.db").string(),
        store::sqlite::Schema{"other", 0x12345678,
                              std::span<const std::string_view>(
                                  std::array<std::string_view, 1>{"CREATE TABLE t (x)"})},
        {});
    ASSERT_TRUE(other.ok());
  }
  auto q = SqliteEventQueue::open((dir_ / "queue.db").string(), io_.get_executor());
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("another application"), std::string::npos);
}

}  // namespace
}  // namespace hearth::queue
