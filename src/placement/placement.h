// Placement: which worker gets a new execution environment. Pure logic, no I/O.
//
// Workers report their memory budget and what live environments hold of it. A new environment
// goes to the worker where it fits with the most memory left, spreading load the way Lambda's
// placement service packs sandboxes without hot-spotting one host. Ties go to the lower index so
// the choice is deterministic.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace hearth::placement {

struct WorkerCapacity {
  uint64_t budget_mb = 0;  // sum of MemorySize this worker may host
  uint64_t used_mb = 0;    // held by live environments (busy or idle)
  uint64_t idle_mb = 0;    // the part of used_mb held by idle environments (evictable)
};

struct Placement {
  size_t worker = 0;
  // Idle memory that must be evicted on that worker first (0 when it fits in free memory).
  uint64_t evict_mb = 0;
};

// The worker for an environment of `memory_mb`, preferring free memory over eviction; nullopt
// when no worker can host it even after evicting all its idle environments.
std::optional<Placement> choose(std::span<const WorkerCapacity> workers, uint64_t memory_mb);

}  // namespace hearth::placement
