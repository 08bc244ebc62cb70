// Kvm: opening /dev/kvm and the system-level ioctls.
#include "vmm/kvm/kvm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "vmm/kvm/vm.h"

namespace hearth::vmm {

Result<Kvm> Kvm::open(const std::string& path) {
  // SAFETY: open(2) on a NUL-terminated path; the fd is owned by UniqueFd from here on.
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    const ErrorCode code =
        (err == ENOENT || err == ENXIO || err == ENODEV) ? ErrorCode::kUnsupported : ErrorCode::kIo;
    return errnoError("open " + path, err, code);
  }
  // SAFETY: KVM_GET_API_VERSION takes no argument and only returns an int.
  const int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version < 0) return errnoError("KVM_GET_API_VERSION", errno);
  if (version != kKvmApiVersion) {
    return makeError(ErrorCode::kUnsupported, "KVM API version " + std::to_string(version) +
                                                  ", expected " + std::to_string(kKvmApiVersion));
  }
  // SAFETY: KVM_GET_VCPU_MMAP_SIZE takes no argument and only returns an int.
  const int mmap_size = ::ioctl(fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (mmap_size < 0) return errnoError("KVM_GET_VCPU_MMAP_SIZE", errno);
  if (static_cast<size_t>(mmap_size) < sizeof(kvm_run)) {
    return makeError(
        ErrorCode::kUnsupported,
        "KVM_GET_VCPU_MMAP_SIZE " + std::to_string(mmap_size) + " is smaller than struct kvm_run");
  }
  return Kvm(std::move(fd), static_cast<size_t>(mmap_size));
}

int Kvm::checkExtension(int capability) const {
  // SAFETY: KVM_CHECK_EXTENSION takes the capability number by value and returns an int.
  const int r = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
  return r < 0 ? 0 : r;
}

Result<Vm> Kvm::createVm() const {
  // SAFETY: KVM_CREATE_VM takes the machine type by value (0 = default) and returns a new fd,
  // which Vm owns.
  UniqueFd vm_fd(::ioctl(fd_.get(), KVM_CREATE_VM, 0));
  if (!vm_fd) return errnoError("KVM_CREATE_VM", errno);
  return Vm(std::move(vm_fd), vcpu_mmap_size_);
}

}  // namespace hearth::vmm
