// GuestMemory: all of a microVM's RAM as one anonymous host mapping, and the one bounds-checked
// way the VMM reads and writes it.
//
// The guest controls the contents of this memory and every guest physical address the VMM is
// handed (descriptor tables, boot structures it reads back, I/O buffers). So nothing outside this
// class holds a raw pointer into it: devices read and write byte ranges by guest physical address
// through read()/write(), which fail with kInvalidParameter for any range not wholly inside the
// memory, including one whose end overflows 64 bits.
//
// Layout: one region starting at guest physical address 0 (registered as KVM slot 0 by the
// caller). Later slices may add a gap below 4 GiB; the accessor is the only place to change.
//
// Ownership: move-only; the mapping is unmapped on destruction. REQUIRES: it outlives any Vm it
// was registered with.
// Thread-safety: read() and write() on distinct ranges may run concurrently; the guest may be
// writing the same bytes at any time, so callers copy out before validating (never check-then-use
// in place).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"

namespace hearth::vmm {

class GuestMemory {
 public:
  // Maps `size` bytes MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE (zero-filled, pages allocated on
  // first touch). REQUIRES: size > 0 and a multiple of the 4 KiB page size, else
  // kInvalidParameter.
  static Result<GuestMemory> create(uint64_t size);

  GuestMemory(GuestMemory&& other) noexcept;
  GuestMemory& operator=(GuestMemory&& other) noexcept;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory();

  uint64_t size() const { return size_; }

  // Ok when [gpa, gpa + len) lies inside guest memory; a zero-length range is in bounds when
  // gpa <= size(). Otherwise kInvalidParameter naming the range.
  Result<void> checkRange(uint64_t gpa, uint64_t len) const;

  // Copies out.size() bytes starting at guest physical `gpa` into `out`.
  Result<void> read(uint64_t gpa, std::span<uint8_t> out) const;
  // Copies `in` into guest memory starting at guest physical `gpa`.
  Result<void> write(uint64_t gpa, std::span<const uint8_t> in);

  // The host address of guest physical 0, for KVM_SET_USER_MEMORY_REGION only. Never dereference
  // it: use read()/write().
  void* hostBaseForKvm() const { return base_; }

 private:
  GuestMemory(uint8_t* base, uint64_t size) : base_(base), size_(size) {}
  void unmap();

  // Invariant: base_ is null (moved from) or a live mapping of size_ bytes owned by this object.
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace hearth::vmm
