// GuestMemory: the mapping and the bounds-checked accessors.
#include "vmm/memory/guest_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

namespace hearth::vmm {
namespace {

constexpr uint64_t kPageSize = 4096;

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Result<GuestMemory> GuestMemory::create(uint64_t size) {
  if (size == 0 || size % kPageSize != 0) {
    return makeError(ErrorCode::kInvalidParameter, "guest memory size " + std::to_string(size) +
                                                       " must be a positive multiple of 4096");
  }
  if (size > SIZE_MAX) {
    return makeError(ErrorCode::kInvalidParameter, "guest memory size exceeds the address space");
  }
  // SAFETY: a fresh anonymous private mapping at an address the kernel picks; it aliases nothing.
  // MAP_NORESERVE: guest RAM is committed page by page as the guest touches it.
  void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return errnoError("mmap guest memory of " + std::to_string(size), errno);
  return GuestMemory(static_cast<uint8_t*>(p), size);
}

GuestMemory::GuestMemory(GuestMemory&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

GuestMemory& GuestMemory::operator=(GuestMemory&& other) noexcept {
  if (this != &other) {
    unmap();
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

GuestMemory::~GuestMemory() { unmap(); }

void GuestMemory::unmap() {
  // SAFETY: base_ is our own mapping of size_ bytes (invariant); nothing else unmaps it.
  if (base_ != nullptr) ::munmap(base_, static_cast<size_t>(size_));
  base_ = nullptr;
  size_ = 0;
}

Result<void> GuestMemory::checkRange(uint64_t gpa, uint64_t len) const {
  // Written so that nothing overflows: gpa is compared with size_ before size_ - gpa is formed.
  if (gpa > size_ || len > size_ - gpa) {
    return makeError(ErrorCode::kInvalidParameter, "guest range [" + hex(gpa) + ", +" + hex(len) +
                                                       ") is outside guest memory [0, " +
                                                       hex(size_) + ")");
  }
  return {};
}

Result<void> GuestMemory::read(uint64_t gpa, std::span<uint8_t> out) const {
  HEARTH_TRY(checkRange(gpa, out.size()));
  if (out.empty()) return {};
  // SAFETY: checkRange proved [gpa, gpa + out.size()) lies inside our live mapping of size_ bytes.
  // The guest may write these bytes concurrently; memcpy into our own buffer takes a snapshot
  // that callers validate afterwards.
  std::memcpy(out.data(), base_ + gpa, out.size());
  return {};
}

Result<void> GuestMemory::write(uint64_t gpa, std::span<const uint8_t> in) {
  HEARTH_TRY(checkRange(gpa, in.size()));
  if (in.empty()) return {};
  // SAFETY: checkRange proved [gpa, gpa + in.size()) lies inside our live mapping of size_ bytes;
  // `in` is caller memory, which cannot overlap guest memory since no pointer into it escapes.
  std::memcpy(base_ + gpa, in.data(), in.size());
  return {};
}

}  // namespace hearth::vmm
