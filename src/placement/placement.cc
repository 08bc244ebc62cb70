#include "placement/placement.h"

namespace hearth::placement {

std::optional<Placement> choose(std::span<const WorkerCapacity> workers, uint64_t memory_mb) {
  std::optional<Placement> best;
  uint64_t best_free = 0;
  // First pass: workers where it fits without eviction, most free memory wins.
  for (size_t i = 0; i < workers.size(); ++i) {
    const WorkerCapacity& w = workers[i];
    if (w.used_mb > w.budget_mb) continue;
    uint64_t free = w.budget_mb - w.used_mb;
    if (free >= memory_mb && (!best || free > best_free)) {
      best = Placement{i, 0};
      best_free = free;
    }
  }
  if (best) return best;
  // Second pass: evict idle environments, on the worker needing the least eviction.
  for (size_t i = 0; i < workers.size(); ++i) {
    const WorkerCapacity& w = workers[i];
    uint64_t busy = w.used_mb - w.idle_mb;
    if (busy > w.budget_mb || w.budget_mb - busy < memory_mb) continue;
    uint64_t free = w.used_mb > w.budget_mb ? 0 : w.budget_mb - w.used_mb;
    uint64_t evict = memory_mb - free;
    if (!best || evict < best->evict_mb) best = Placement{i, evict};
  }
  return best;
}

}  // namespace hearth::placement
