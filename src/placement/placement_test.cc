#include "placement/placement.h"

#include <gtest/gtest.h>

#include <vector>

namespace hearth::placement {
namespace {

TEST(Placement, PrefersMostFreeMemoryWithoutEviction) {
  std::vector<WorkerCapacity> w = {{1024, 900, 0}, {1024, 100, 0}, {2048, 1500, 500}};
  auto p = choose(w, 128);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->worker, 1u);
  EXPECT_EQ(p->evict_mb, 0u);
}

TEST(Placement, EvictsIdleMemoryOnlyWhenNothingIsFree) {
  std::vector<WorkerCapacity> w = {{1024, 1000, 300}, {1024, 1024, 600}};
  auto p = choose(w, 256);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->worker, 0u);  // needs 232 MB evicted, worker 1 needs 256
  EXPECT_EQ(p->evict_mb, 232u);
}

TEST(Placement, RefusesWhenBusyMemoryLeavesNoRoom) {
  std::vector<WorkerCapacity> w = {{1024, 1024, 100}};
  EXPECT_FALSE(choose(w, 256));
  EXPECT_FALSE(choose({}, 128));
  // An over-committed worker (budget lowered at runtime) is never chosen.
  std::vector<WorkerCapacity> over = {{512, 1024, 1024}};
  auto p = choose(over, 128);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evict_mb, 128u);
}

}  // namespace
}  // namespace hearth::placement
