#include "workermgr/worker_manager.h"

#include <algorithm>

#include "common/check.h"
#include "common/log.h"
#include "placement/placement.h"

namespace hearth::workermgr {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Lease::Slot {
  std::unique_ptr<worker::Environment> env;
  size_t worker = 0;
  uint64_t memory_mb = 0;
  uint64_t epoch = 0;
  Clock::time_point last_used;
};

Lease::Lease() = default;

Lease::Lease(WorkerManager* manager, std::unique_ptr<Slot> slot, bool cold)
    : manager_(manager), slot_(std::move(slot)), cold_(cold) {}

Lease::Lease(Lease&& other) noexcept
    : manager_(std::exchange(other.manager_, nullptr)),
      slot_(std::move(other.slot_)),
      cold_(other.cold_) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    manager_ = std::exchange(other.manager_, nullptr);
    slot_ = std::move(other.slot_);
    cold_ = other.cold_;
  }
  return *this;
}

Lease::~Lease() { release(); }

worker::Environment& Lease::environment() const {
  CHECK(slot_ != nullptr);
  return *slot_->env;
}

void Lease::release() {
  if (manager_ && slot_) manager_->release(std::move(slot_));
  manager_ = nullptr;
}

WorkerManager::WorkerManager(asio::any_io_executor executor, std::vector<WorkerSlot> workers,
                             Options options)
    : executor_(executor), options_(options), reap_timer_(executor) {
  for (WorkerSlot& w : workers) workers_.push_back(WorkerState{w, 0, 0});
}

WorkerManager::~WorkerManager() { shutdown(); }

void WorkerManager::start() { scheduleReap(); }

uint64_t WorkerManager::epochOf(const worker::EnvironmentKey& key) const {
  auto it = epochs_.find({key.account_id, key.function_name});
  return it == epochs_.end() ? 0 : it->second;
}

asio::awaitable<Result<Lease>> WorkerManager::acquire(const worker::EnvironmentSpec& spec) {
  if (shut_down_) {
    co_return makeError(ErrorCode::kTooManyRequests, "The service is shutting down.",
                        "ConcurrentInvocationLimitExceeded");
  }
  // Warm path: the most recently used idle environment of exactly this key.
  if (auto pool = pools_.find(spec.key); pool != pools_.end() && !pool->second.empty()) {
    IdleList::iterator it = pool->second.back();
    pool->second.pop_back();
    if (pool->second.empty()) pools_.erase(pool);
    std::unique_ptr<Slot> slot = std::move(*it);
    idle_.erase(it);
    workers_[slot->worker].idle_mb -= slot->memory_mb;
    ++busy_;
    co_return Lease(this, std::move(slot), /*cold=*/false);
  }

  // Cold path: place, evict if needed, reserve the memory, then build.
  std::vector<placement::WorkerCapacity> capacity;
  capacity.reserve(workers_.size());
  for (const WorkerState& w : workers_) {
    capacity.push_back({w.slot.memory_budget_mb, w.used_mb, w.idle_mb});
  }
  std::optional<placement::Placement> where = placement::choose(capacity, spec.memory_mb);
  if (!where) {
    co_return makeError(ErrorCode::kTooManyRequests,
                        "Rate Exceeded. No worker has memory for another execution environment.",
                        "ConcurrentInvocationLimitExceeded");
  }
  if (where->evict_mb > 0) evict(where->worker, where->evict_mb);

  WorkerState& w = workers_[where->worker];
  w.used_mb += spec.memory_mb;
  ++busy_;
  ++cold_starts_;
  uint64_t epoch = epochOf(spec.key);
  Result<std::unique_ptr<worker::Environment>> env =
      co_await w.slot.worker->createEnvironment(spec);
  if (!env) {
    workers_[where->worker].used_mb -= spec.memory_mb;
    --busy_;
    co_return std::move(env).error();
  }
  auto slot = std::make_unique<Slot>();
  slot->env = std::move(*env);
  slot->worker = where->worker;
  slot->memory_mb = spec.memory_mb;
  slot->epoch = epoch;
  co_return Lease(this, std::move(slot), /*cold=*/true);
}

void WorkerManager::release(std::unique_ptr<Slot> slot) {
  CHECK(busy_ > 0);
  --busy_;
  WorkerState& w = workers_[slot->worker];
  const worker::EnvironmentKey& key = slot->env->spec().key;
  if (shut_down_ || !slot->env->reusable() || slot->epoch != epochOf(key)) {
    w.used_mb -= slot->memory_mb;
    return;  // the Environment's destructor tears the sandbox down
  }
  slot->last_used = Clock::now();
  w.idle_mb += slot->memory_mb;
  worker::EnvironmentKey pool_key = key;
  idle_.push_back(std::move(slot));
  pools_[pool_key].push_back(std::prev(idle_.end()));
}

void WorkerManager::eraseIdle(IdleList::iterator it) {
  Slot& slot = **it;
  auto pool = pools_.find(slot.env->spec().key);
  CHECK(pool != pools_.end());
  auto& stack = pool->second;
  stack.erase(std::find(stack.begin(), stack.end(), it));
  if (stack.empty()) pools_.erase(pool);
  WorkerState& w = workers_[slot.worker];
  w.idle_mb -= slot.memory_mb;
  w.used_mb -= slot.memory_mb;
  idle_.erase(it);
}

void WorkerManager::evict(size_t worker, uint64_t need_mb) {
  uint64_t freed = 0;
  for (auto it = idle_.begin(); it != idle_.end() && freed < need_mb;) {
    auto next = std::next(it);
    if ((*it)->worker == worker) {
      freed += (*it)->memory_mb;
      ++evictions_;
      eraseIdle(it);
    }
    it = next;
  }
}

void WorkerManager::retire(const std::string& account_id, const std::string& function_name) {
  ++epochs_[{account_id, function_name}];
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto next = std::next(it);
    const worker::EnvironmentKey& key = (*it)->env->spec().key;
    if (key.account_id == account_id && key.function_name == function_name) eraseIdle(it);
    it = next;
  }
}

void WorkerManager::reap() {
  Clock::time_point cutoff = Clock::now() - options_.idle_timeout;
  // idle_ is ordered by release time, so expired environments are a prefix.
  while (!idle_.empty() && idle_.front()->last_used <= cutoff) {
    LOG_DEBUG("reclaiming idle environment of {}", idle_.front()->env->spec().key.function_name);
    eraseIdle(idle_.begin());
  }
}

void WorkerManager::scheduleReap() {
  if (shut_down_) return;
  reap_timer_.expires_after(options_.reap_interval);
  reap_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    reap();
    scheduleReap();
  });
}

void WorkerManager::shutdown() {
  shut_down_ = true;
  reap_timer_.cancel();
  while (!idle_.empty()) eraseIdle(idle_.begin());
}

Stats WorkerManager::stats() const {
  Stats s;
  s.idle = idle_.size();
  s.busy = busy_;
  for (const WorkerState& w : workers_) s.used_mb += w.used_mb;
  s.cold_starts = cold_starts_;
  s.evictions = evictions_;
  return s;
}

}  // namespace hearth::workermgr
