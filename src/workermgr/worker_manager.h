// The worker manager: warm pools of execution environments per function version, as Lambda's
// Worker Manager keeps them.
//
// - One invocation per environment at a time: acquire() hands out a Lease; the environment is
//   idle again when the Lease is destroyed (if still reusable).
// - An environment is reused only for an identical EnvironmentKey (account, function, version,
//   revision), so it never crosses functions, versions, configurations or accounts.
// - The most recently used idle environment is taken first, so the others age out.
// - Idle environments are reclaimed after Options::idle_timeout.
// - Each worker has a memory budget bounding the sum of MemorySize of its live environments.
//   When a new environment does not fit, idle environments (least recently used first) are
//   evicted before the request is refused with kTooManyRequests.
// - retire() destroys a function's idle environments now and its busy ones when they finish:
//   used when code or configuration changes, or the function is deleted.
//
// Thread-safety: none. Everything runs on the data-plane executor given at construction.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "worker/environment.h"

namespace hearth::workermgr {

struct WorkerSlot {
  worker::Worker* worker = nullptr;  // not owned; outlives the manager
  uint64_t memory_budget_mb = 0;
};

struct Options {
  std::chrono::seconds idle_timeout{600};
  // How often idle environments are checked for expiry.
  std::chrono::milliseconds reap_interval{1000};
};

struct Stats {
  size_t idle = 0;
  size_t busy = 0;
  uint64_t used_mb = 0;
  uint64_t cold_starts = 0;
  uint64_t evictions = 0;
};

class WorkerManager;

// Exclusive use of one environment. Move-only; returning it to the pool happens on destruction.
class Lease {
 public:
  Lease();
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();

  worker::Environment& environment() const;
  // True if the environment was created for this lease (a cold start).
  bool cold() const { return cold_; }

 private:
  friend class WorkerManager;
  struct Slot;
  Lease(WorkerManager* manager, std::unique_ptr<Slot> slot, bool cold);
  void release();

  WorkerManager* manager_ = nullptr;
  std::unique_ptr<Slot> slot_;
  bool cold_ = false;
};

class WorkerManager {
 public:
  WorkerManager(boost::asio::any_io_executor executor, std::vector<WorkerSlot> workers,
                Options options);
  ~WorkerManager();
  WorkerManager(const WorkerManager&) = delete;
  WorkerManager& operator=(const WorkerManager&) = delete;

  // Starts the idle reaper.
  void start();

  // An idle environment for spec.key, or a new one. Errors: kTooManyRequests when no worker has
  // room even after eviction, or the worker's creation error.
  boost::asio::awaitable<Result<Lease>> acquire(const worker::EnvironmentSpec& spec);

  // Retires every environment of the function (all versions and revisions).
  void retire(const std::string& account_id, const std::string& function_name);

  // Destroys every idle environment and stops the reaper; busy ones are destroyed on release.
  void shutdown();

  Stats stats() const;

 private:
  friend class Lease;
  using Slot = Lease::Slot;
  using IdleList = std::list<std::unique_ptr<Slot>>;

  void release(std::unique_ptr<Slot> slot);
  void eraseIdle(IdleList::iterator it);
  void evict(size_t worker, uint64_t need_mb);
  void reap();
  void scheduleReap();
  uint64_t epochOf(const worker::EnvironmentKey& key) const;

  struct WorkerState {
    WorkerSlot slot;
    uint64_t used_mb = 0;  // live environments, including ones being created
    uint64_t idle_mb = 0;
  };

  boost::asio::any_io_executor executor_;
  Options options_;
  std::vector<WorkerState> workers_;
  // Invariant: every live environment is in exactly one of idle_ (indexed by pools_) or a Lease.
  IdleList idle_;                                                            // oldest release first
  std::map<worker::EnvironmentKey, std::vector<IdleList::iterator>> pools_;  // MRU at back
  // Retirement epochs per (account, function): environments from an older epoch are destroyed.
  std::map<std::pair<std::string, std::string>, uint64_t> epochs_;
  boost::asio::steady_timer reap_timer_;
  bool shut_down_ = false;
  size_t busy_ = 0;
  uint64_t cold_starts_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace hearth::workermgr
