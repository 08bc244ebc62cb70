#include "common/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace hearth {
namespace {

Result<int> half(int x) {
  if (x % 2) return makeError(ErrorCode::kInvalidParameter, "odd");
  return x / 2;
}

Result<void> quarter(int x, int* out) {
  auto h = half(x);
  if (!h) return h.error();
  auto q = half(*h);
  if (!q) return q.error();
  *out = *q;
  return {};
}

TEST(Result, PropagatesValuesAndErrors) {
  int out = 0;
  EXPECT_TRUE(quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Result<void> r = quarter(6, &out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(r.error().toString(), "InvalidParameter: odd");
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

}  // namespace
}  // namespace hearth
