#include "workermgr/worker_manager.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "worker/testing/fake_worker.h"

namespace hearth::workermgr {
namespace {

namespace asio = boost::asio;
using worker::EnvironmentSpec;
using worker::testing::FakeWorker;

EnvironmentSpec specFor(std::string fn, uint32_t memory_mb = 128, std::string account = "1") {
  EnvironmentSpec s;
  s.key = {std::move(account), std::move(fn), "$LATEST", "rev1"};
  s.memory_mb = memory_mb;
  return s;
}

class WorkerManagerTest : public ::testing::Test {
 protected:
  void makeManager(uint64_t budget_mb, Options options = {}) {
    manager_ = std::make_unique<WorkerManager>(
        io_.get_executor(), std::vector<WorkerSlot>{{&worker_, budget_mb}}, options);
  }

  // Runs acquire() to completion on the test's io_context.
  Result<Lease> acquire(const EnvironmentSpec& spec) {
    auto fut = asio::co_spawn(io_, manager_->acquire(spec), asio::use_future);
    io_.restart();
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io_.run_one();
    return fut.get();
  }

  asio::io_context io_;
  FakeWorker worker_;
  std::unique_ptr<WorkerManager> manager_;
};

TEST_F(WorkerManagerTest, ReusesMostRecentlyUsedEnvironmentOfTheSameKeyOnly) {
  makeManager(1024);
  Result<Lease> a = acquire(specFor("f"));
  Result<Lease> b = acquire(specFor("f"));
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->cold());
  worker::Environment* env_a = &a->environment();
  worker::Environment* env_b = &b->environment();
  *a = Lease();  // released first
  *b = Lease();  // released last: most recently used
  Result<Lease> c = acquire(specFor("f"));
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->cold());
  EXPECT_EQ(&c->environment(), env_b);
  Result<Lease> d = acquire(specFor("f"));
  EXPECT_EQ(&d->environment(), env_a);

  // Another function, another account, another revision: never an existing environment.
  EnvironmentSpec other_rev = specFor("f");
  other_rev.key.revision_id = "rev2";
  *c = Lease();
  EXPECT_TRUE(acquire(specFor("g"))->cold());
  EXPECT_TRUE(acquire(specFor("f", 128, "2"))->cold());
  EXPECT_TRUE(acquire(other_rev)->cold());
  EXPECT_EQ(worker_.created().size(), 5u);
}

TEST_F(WorkerManagerTest, EvictsIdleEnvironmentsOfOtherFunctionsBeforeRefusing) {
  makeManager(512);
  {
    Result<Lease> a = acquire(specFor("a", 256));
    Result<Lease> b = acquire(specFor("b", 256));
    ASSERT_TRUE(a && b);
    // Budget full and both busy: refused with Lambda's throttle.
    Result<Lease> c = acquire(specFor("c", 128));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ErrorCode::kTooManyRequests);
    *a = Lease();  // a is now the least recently used
    *b = Lease();
  }
  // Both idle now; c evicts the least recently used (a) only.
  Result<Lease> c = acquire(specFor("c", 128));
  ASSERT_TRUE(c);
  EXPECT_TRUE(worker_.created()[0]->destroyed);
  EXPECT_FALSE(worker_.created()[1]->destroyed);
  EXPECT_EQ(manager_->stats().evictions, 1u);
  EXPECT_EQ(manager_->stats().used_mb, 384u);
}

TEST_F(WorkerManagerTest, DestroysEnvironmentsThatCannotBeReused) {
  makeManager(1024);
  worker_.crashOnInvoke(true);
  {
    Result<Lease> a = acquire(specFor("f"));
    ASSERT_TRUE(a);
    auto r = asio::co_spawn(io_, a->environment().invoke({}), asio::use_future);
    io_.restart();
    io_.run();
    EXPECT_TRUE(r.get()->function_error);
  }
  EXPECT_TRUE(worker_.created()[0]->destroyed);
  EXPECT_EQ(manager_->stats().used_mb, 0u);
  EXPECT_TRUE(acquire(specFor("f"))->cold());
}

TEST_F(WorkerManagerTest, RetireDestroysIdleNowAndBusyOnRelease) {
  makeManager(1024);
  Result<Lease> busy = acquire(specFor("f"));
  { Result<Lease> idle = acquire(specFor("f")); }
  Result<Lease> other = acquire(specFor("g"));
  manager_->retire("1", "f");
  EXPECT_TRUE(worker_.created()[1]->destroyed);
  EXPECT_FALSE(worker_.created()[0]->destroyed);
  *busy = Lease();
  EXPECT_TRUE(worker_.created()[0]->destroyed);
  EXPECT_FALSE(worker_.created()[2]->destroyed);
  EXPECT_EQ(manager_->stats().used_mb, 128u);
}

TEST_F(WorkerManagerTest, ReclaimsIdleEnvironmentsAfterTheTimeout) {
  makeManager(1024, Options{std::chrono::seconds(0), std::chrono::milliseconds(1)});
  manager_->start();
  { Result<Lease> a = acquire(specFor("f")); }
  EXPECT_EQ(manager_->stats().idle, 1u);
  io_.restart();
  while (manager_->stats().idle != 0) io_.run_one();
  EXPECT_TRUE(worker_.created()[0]->destroyed);
  manager_->shutdown();
}

TEST_F(WorkerManagerTest, CreationFailureReleasesTheReservation) {
  makeManager(128);
  worker_.failNextCreate(makeError(ErrorCode::kSandbox, "clone: boom"));
  Result<Lease> a = acquire(specFor("f"));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, ErrorCode::kSandbox);
  EXPECT_EQ(manager_->stats().used_mb, 0u);
  EXPECT_TRUE(acquire(specFor("f")));
}

}  // namespace
}  // namespace hearth::workermgr
