// Kvm: the open /dev/kvm system handle, the root of every KVM object in hearth-vmm.
//
// Thin RAII wrappers over the KVM API (Documentation/virt/kvm/api.rst): Kvm owns the /dev/kvm
// fd, Vm (vm.h) a VM fd, Vcpu (vcpu.h) a vCPU fd and its mmapped kvm_run. Each wrapper only
// issues ioctls and reports their failures as Result with the errno text; policy (what memory,
// what registers) lives in the callers.
//
// Thread-safety: a Kvm is immutable after open(); its const methods may be called from any thread.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::vmm {

class Vm;

// The only KVM API version Linux has ever shipped (KVM_GET_API_VERSION).
inline constexpr int kKvmApiVersion = 12;

class Kvm {
 public:
  // Opens `path` (normally /dev/kvm) O_RDWR|O_CLOEXEC, checks KVM_GET_API_VERSION == 12 and
  // reads KVM_GET_VCPU_MMAP_SIZE. Fails with kUnsupported when the device is missing or speaks
  // another API version, kIo for other failures.
  static Result<Kvm> open(const std::string& path = "/dev/kvm");

  Kvm(Kvm&&) noexcept = default;
  Kvm& operator=(Kvm&&) noexcept = default;

  // KVM_CHECK_EXTENSION on the system fd: > 0 when the capability is offered (some capabilities
  // return a count or limit), 0 when not.
  int checkExtension(int capability) const;

  // KVM_CREATE_VM with the default machine type.
  Result<Vm> createVm() const;

  // Size of the per-vCPU kvm_run mapping, as the kernel reported it.
  size_t vcpuMmapSize() const { return vcpu_mmap_size_; }
  int fd() const { return fd_.get(); }

 private:
  Kvm(UniqueFd fd, size_t vcpu_mmap_size) : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  UniqueFd fd_;
  size_t vcpu_mmap_size_;
};

}  // namespace hearth::vmm
