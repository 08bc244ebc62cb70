// Vm: VM-level ioctls.
#include "vmm/kvm/vm.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "vmm/kvm/vcpu.h"
#include "vmm/memory/guest_memory.h"

namespace hearth::vmm {

Result<void> Vm::setUserMemoryRegion(uint32_t slot, uint64_t guest_phys_addr,
                                     const GuestMemory& memory) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.flags = 0;
  region.guest_phys_addr = guest_phys_addr;
  region.memory_size = memory.size();
  region.userspace_addr = reinterpret_cast<uint64_t>(memory.hostBaseForKvm());
  // SAFETY: `region` is a fully initialised kvm_userspace_memory_region on our stack that the
  // kernel only reads. It describes one live, page-aligned anonymous mapping of exactly
  // memory.size() bytes, which the caller keeps alive for the VM's lifetime (REQUIRES above).
  if (::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    return errnoError("KVM_SET_USER_MEMORY_REGION", errno);
  }
  return {};
}

Result<void> Vm::setTssAddress(uint64_t addr) {
  // SAFETY: KVM_SET_TSS_ADDR takes the guest physical address by value; no host memory involved.
  if (::ioctl(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(addr)) < 0) {
    return errnoError("KVM_SET_TSS_ADDR", errno);
  }
  return {};
}

Result<Vcpu> Vm::createVcpu(uint32_t id) const {
  // SAFETY: KVM_CREATE_VCPU takes the vCPU id by value and returns a new fd, which Vcpu owns.
  UniqueFd vcpu_fd(::ioctl(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id)));
  if (!vcpu_fd) return errnoError("KVM_CREATE_VCPU", errno);
  return Vcpu::create(std::move(vcpu_fd), vcpu_mmap_size_);
}

}  // namespace hearth::vmm
