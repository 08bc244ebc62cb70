// Vm: one KVM virtual machine (a KVM_CREATE_VM fd): its memory slots and its vCPUs.
//
// Ownership: a Vm is created by Kvm::createVm() and owns the VM fd. Memory registered with
// setUserMemoryRegion() stays owned by the caller and must outlive the Vm and every Vcpu created
// from it (the kernel keeps the host mapping until the VM fd is closed).
//
// Thread-safety: none; configure a Vm from one thread before running its vCPUs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::vmm {

class GuestMemory;
class Vcpu;

class Vm {
 public:
  Vm(Vm&&) noexcept = default;
  Vm& operator=(Vm&&) noexcept = default;

  // KVM_SET_USER_MEMORY_REGION: maps all of `memory` into the guest at `guest_phys_addr` as
  // memory slot `slot`. REQUIRES: `memory` outlives this Vm.
  Result<void> setUserMemoryRegion(uint32_t slot, uint64_t guest_phys_addr,
                                   const GuestMemory& memory);

  // KVM_SET_TSS_ADDR (x86): the three pages KVM may use for real-mode emulation on hosts without
  // unrestricted guest support. `addr` must lie outside guest RAM.
  Result<void> setTssAddress(uint64_t addr);

  // KVM_CREATE_VCPU with the given vCPU id.
  Result<Vcpu> createVcpu(uint32_t id) const;

  int fd() const { return fd_.get(); }

 private:
  friend class Kvm;
  Vm(UniqueFd fd, size_t vcpu_mmap_size) : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  UniqueFd fd_;
  size_t vcpu_mmap_size_;
};

}  // namespace hearth::vmm
