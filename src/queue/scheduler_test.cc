#include "queue/scheduler.h"

#include <gtest/gtest.h>

#include <map>

namespace hearth::queue {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const SystemTime kT0 = fromEpochMillis(1'800'000'000'000);
const LaneKey kFlood{"111111111111", "flood"};
const LaneKey kQuiet{"111111111111", "quiet"};
const LaneKey kOther{"222222222222", "flood"};  // same name, another account: its own lane

std::vector<uint64_t> ids(const std::vector<Scheduler::Leased>& leased) {
  std::vector<uint64_t> out;
  for (const auto& l : leased) out.push_back(l.id);
  return out;
}

TEST(SchedulerTest, FloodedFunctionDoesNotStarveOthers) {
  Scheduler s;
  for (uint64_t id = 1; id <= 1000; ++id) s.add(id, kFlood, kT0);
  s.add(2001, kQuiet, kT0);
  s.add(2002, kQuiet, kT0);
  s.add(3001, kOther, kT0);

  // One per lane per turn, lanes in the order they first had ready events.
  EXPECT_EQ(ids(s.take(5, kT0, seconds(60))), (std::vector<uint64_t>{1, 2001, 3001, 2, 2002}));
  EXPECT_EQ(ids(s.take(3, kT0, seconds(60))), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(s.leased(), 8u);
  EXPECT_EQ(s.size(), 1003u);
}

TEST(SchedulerTest, DelayedEventsBecomeReadyAtTheirTime) {
  Scheduler s;
  s.add(1, kFlood, kT0 + seconds(10));
  s.add(2, kFlood, kT0);
  EXPECT_EQ(ids(s.take(10, kT0, seconds(60))), (std::vector<uint64_t>{2}));
  EXPECT_TRUE(s.take(10, kT0 + seconds(9), seconds(60)).empty());
  EXPECT_EQ(s.nextChange(), kT0 + seconds(10));
  EXPECT_EQ(ids(s.take(10, kT0 + seconds(10), seconds(60))), (std::vector<uint64_t>{1}));
}

TEST(SchedulerTest, LeasesExpireAndTheEventIsHandedOutAgainUnderANewToken) {
  Scheduler s;
  s.add(7, kFlood, kT0);
  std::vector<Scheduler::Leased> first = s.take(1, kT0, seconds(30));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(s.holds(7, first[0].token));
  EXPECT_TRUE(s.take(1, kT0 + seconds(29), seconds(30)).empty());
  EXPECT_EQ(s.nextChange(), kT0 + seconds(30));

  std::vector<Scheduler::Leased> second = s.take(1, kT0 + seconds(30), seconds(30));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, 7u);
  EXPECT_NE(second[0].token, first[0].token);
  EXPECT_FALSE(s.holds(7, first[0].token)) << "the expired lease must be stale";
  EXPECT_TRUE(s.holds(7, second[0].token));
}

TEST(SchedulerTest, RescheduleAndRemove) {
  Scheduler s;
  s.add(1, kFlood, kT0);
  s.add(2, kFlood, kT0);
  auto leased = s.take(2, kT0, seconds(60));
  ASSERT_EQ(leased.size(), 2u);
  s.reschedule(1, kT0 + seconds(5));
  s.remove(2);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.leased(), 0u);
  EXPECT_FALSE(s.holds(1, leased[0].token));
  EXPECT_TRUE(s.take(5, kT0 + seconds(4), seconds(60)).empty());
  EXPECT_EQ(ids(s.take(5, kT0 + seconds(5), seconds(60))), (std::vector<uint64_t>{1}));
  s.remove(1);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.nextChange(), std::nullopt);
  s.remove(1);  // unknown ids are a no-op
}

TEST(SchedulerTest, RemoveWorksInEveryState) {
  Scheduler s;
  s.add(1, kFlood, kT0);                // ready
  s.add(2, kFlood, kT0 + seconds(10));  // delayed
  s.add(3, kQuiet, kT0);
  s.advance(kT0);
  s.remove(1);
  s.remove(2);
  EXPECT_EQ(ids(s.take(5, kT0 + seconds(20), seconds(60))), (std::vector<uint64_t>{3}));
  EXPECT_EQ(s.size(), 1u);
}

TEST(SchedulerTest, PausedLaneIsSkippedUntilThePauseEnds) {
  Scheduler s;
  for (uint64_t id = 1; id <= 3; ++id) s.add(id, kFlood, kT0);
  s.add(10, kQuiet, kT0);
  auto first = s.take(1, kT0, seconds(60));  // 1 (flood)
  ASSERT_EQ(ids(first), (std::vector<uint64_t>{1}));
  // The function was throttled: its event goes back and its lane pauses for 2 s.
  s.pause(kFlood, kT0 + seconds(2));
  s.reschedule(1, kT0 + seconds(2));
  EXPECT_EQ(ids(s.take(10, kT0 + seconds(1), seconds(60))), (std::vector<uint64_t>{10}));
  EXPECT_FALSE(s.hasReady());
  // A shorter pause does not shorten it.
  s.pause(kFlood, kT0 + seconds(1));
  EXPECT_TRUE(s.take(10, kT0 + milliseconds(1999), seconds(60)).empty());
  EXPECT_EQ(ids(s.take(10, kT0 + seconds(2), seconds(60))), (std::vector<uint64_t>{2, 3, 1}));
}

TEST(SchedulerTest, RandomizedOperationsKeepTheBooks) {
  // A model check: whatever sequence of operations, every event is in exactly one state and
  // take() hands out only ready, unleased events.
  Scheduler s;
  std::map<uint64_t, uint64_t> leased;  // id -> token
  std::map<uint64_t, bool> known;
  const LaneKey lanes[] = {kFlood, kQuiet, kOther};
  uint64_t next_id = 1;
  uint32_t seed = 12345;
  auto rnd = [&seed](uint32_t n) {
    seed = seed * 1103515245 + 12345;
    return (seed >> 16) % n;
  };
  SystemTime t = kT0;
  for (int step = 0; step < 20000; ++step) {
    t += milliseconds(rnd(50));
    switch (rnd(5)) {
      case 0:
        s.add(next_id, lanes[rnd(3)], t + milliseconds(rnd(200)));
        known[next_id++] = true;
        break;
      case 1:
        for (const auto& l : s.take(rnd(4), t, milliseconds(100 + rnd(400)))) {
          ASSERT_TRUE(known.count(l.id));
          leased[l.id] = l.token;
        }
        break;
      case 2:
      case 3:
        if (!leased.empty()) {
          auto it = std::next(leased.begin(), rnd(static_cast<uint32_t>(leased.size())));
          if (s.holds(it->first, it->second)) {
            if (rnd(2) == 0) {
              s.reschedule(it->first, t + milliseconds(rnd(100)));
            } else {
              s.remove(it->first);
              known.erase(it->first);
            }
          }
          leased.erase(it);
        }
        break;
      case 4:
        s.pause(lanes[rnd(3)], t + milliseconds(rnd(300)));
        break;
    }
    ASSERT_EQ(s.size(), known.size());
    ASSERT_LE(s.leased(), s.size());
  }
  // Drain: with time moving on, everything left is handed out exactly once more.
  t += std::chrono::hours(1);
  std::map<uint64_t, int> seen;
  for (const auto& l : s.take(known.size() + 1, t, std::chrono::hours(2))) ++seen[l.id];
  EXPECT_EQ(seen.size(), known.size());
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
}

}  // namespace
}  // namespace hearth::queue
