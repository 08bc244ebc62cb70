#include "frontend/concurrency.h"

#include <gtest/gtest.h>

#include <vector>

namespace hearth::frontend {
namespace {

TEST(ConcurrencyLimiter, ReservedFunctionsUseOnlyTheirReservation) {
  ConcurrencyLimiter limiter(10);
  Result<ConcurrencyLimiter::Slot> a = limiter.acquire("acct", "f", 1, 1);
  ASSERT_TRUE(a);
  Result<ConcurrencyLimiter::Slot> b = limiter.acquire("acct", "f", 1, 1);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kTooManyRequests);
  EXPECT_EQ(b.error().reason, "ReservedFunctionConcurrentInvocationLimitExceeded");
  Result<ConcurrencyLimiter::Slot> zero = limiter.acquire("acct", "g", 0, 1);
  ASSERT_FALSE(zero);
  EXPECT_EQ(limiter.running("acct", "g"), 0u);
  *a = ConcurrencyLimiter::Slot();
  EXPECT_TRUE(limiter.acquire("acct", "f", 1, 1));
}

TEST(ConcurrencyLimiter, UnreservedFunctionsShareWhatIsNotReservedPerAccount) {
  ConcurrencyLimiter limiter(4);
  std::vector<ConcurrencyLimiter::Slot> held;
  // 4 - 1 reserved = 3 shared slots.
  for (int i = 0; i < 3; ++i) {
    Result<ConcurrencyLimiter::Slot> s = limiter.acquire("acct", i % 2 ? "x" : "y", {}, 1);
    ASSERT_TRUE(s);
    held.push_back(std::move(*s));
  }
  Result<ConcurrencyLimiter::Slot> over = limiter.acquire("acct", "z", {}, 1);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().reason, "ConcurrentInvocationLimitExceeded");
  // The reserved function still runs, and another account is unaffected.
  EXPECT_TRUE(limiter.acquire("acct", "r", 1, 1));
  EXPECT_TRUE(limiter.acquire("other", "z", {}, 0));
  held.pop_back();
  EXPECT_TRUE(limiter.acquire("acct", "z", {}, 1));
}

}  // namespace
}  // namespace hearth::frontend
