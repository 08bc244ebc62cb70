// Vcpu: the kvm_run mapping, KVM_RUN, and register access.
#include "vmm/kvm/vcpu.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <utility>

namespace hearth::vmm {

const char* kvmExitName(uint32_t reason) {
  switch (reason) {
    case KVM_EXIT_UNKNOWN:
      return "KVM_EXIT_UNKNOWN";
    case KVM_EXIT_EXCEPTION:
      return "KVM_EXIT_EXCEPTION";
    case KVM_EXIT_IO:
      return "KVM_EXIT_IO";
    case KVM_EXIT_HYPERCALL:
      return "KVM_EXIT_HYPERCALL";
    case KVM_EXIT_DEBUG:
      return "KVM_EXIT_DEBUG";
    case KVM_EXIT_HLT:
      return "KVM_EXIT_HLT";
    case KVM_EXIT_MMIO:
      return "KVM_EXIT_MMIO";
    case KVM_EXIT_IRQ_WINDOW_OPEN:
      return "KVM_EXIT_IRQ_WINDOW_OPEN";
    case KVM_EXIT_SHUTDOWN:
      return "KVM_EXIT_SHUTDOWN";
    case KVM_EXIT_FAIL_ENTRY:
      return "KVM_EXIT_FAIL_ENTRY";
    case KVM_EXIT_INTR:
      return "KVM_EXIT_INTR";
    case KVM_EXIT_INTERNAL_ERROR:
      return "KVM_EXIT_INTERNAL_ERROR";
    case KVM_EXIT_SYSTEM_EVENT:
      return "KVM_EXIT_SYSTEM_EVENT";
    default:
      return "KVM_EXIT_(other)";
  }
}

Result<Vcpu> Vcpu::create(UniqueFd fd, size_t mmap_size) {
  // SAFETY: maps the vCPU fd's kvm_run area, whose size the kernel reported via
  // KVM_GET_VCPU_MMAP_SIZE; MAP_SHARED because the kernel writes exit data into it. The mapping is
  // owned by the returned Vcpu and unmapped in its destructor.
  void* p = ::mmap(nullptr, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return errnoError("mmap kvm_run", errno);
  // SAFETY: the kernel places a struct kvm_run at offset 0 of this mapping, and the mapping is at
  // least sizeof(kvm_run) bytes (Kvm::open() checked the reported size).
  return Vcpu(std::move(fd), static_cast<kvm_run*>(p), mmap_size);
}

Vcpu::Vcpu(Vcpu&& other) noexcept
    : fd_(std::move(other.fd_)),
      run_(std::exchange(other.run_, nullptr)),
      mmap_size_(std::exchange(other.mmap_size_, 0)) {}

Vcpu& Vcpu::operator=(Vcpu&& other) noexcept {
  if (this != &other) {
    unmap();
    fd_ = std::move(other.fd_);
    run_ = std::exchange(other.run_, nullptr);
    mmap_size_ = std::exchange(other.mmap_size_, 0);
  }
  return *this;
}

Vcpu::~Vcpu() { unmap(); }

void Vcpu::unmap() {
  // SAFETY: run_ is our own mapping of mmap_size_ bytes (invariant); nothing else unmaps it.
  if (run_ != nullptr) ::munmap(run_, mmap_size_);
  run_ = nullptr;
}

Result<VcpuExit> Vcpu::run() {
  // SAFETY: KVM_RUN takes no argument; the kernel reports through the kvm_run mapping we own.
  if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
    const int err = errno;
    if (err == EINTR || err == EAGAIN) {
      VcpuExit exit;
      exit.kind = VcpuExit::Kind::kInterrupted;
      exit.raw_reason = KVM_EXIT_INTR;
      return exit;
    }
    return errnoError("KVM_RUN", err);
  }
  VcpuExit exit;
  // SAFETY: run_ points at the live kvm_run (invariant); KVM_RUN has returned, so the kernel is
  // not writing it while we read. Union members are read only for the matching exit_reason.
  exit.raw_reason = run_->exit_reason;
  switch (run_->exit_reason) {
    case KVM_EXIT_IO:
      exit.kind = VcpuExit::Kind::kIo;
      exit.io.out = run_->io.direction == KVM_EXIT_IO_OUT;
      exit.io.port = run_->io.port;
      exit.io.size = run_->io.size;
      exit.io.count = run_->io.count;
      break;
    case KVM_EXIT_HLT:
      exit.kind = VcpuExit::Kind::kHlt;
      break;
    case KVM_EXIT_SHUTDOWN:
      exit.kind = VcpuExit::Kind::kShutdown;
      break;
    case KVM_EXIT_INTERNAL_ERROR:
      exit.kind = VcpuExit::Kind::kInternalError;
      exit.suberror = run_->internal.suberror;
      break;
    case KVM_EXIT_FAIL_ENTRY:
      exit.kind = VcpuExit::Kind::kFailEntry;
      exit.hardware_reason = run_->fail_entry.hardware_entry_failure_reason;
      break;
    case KVM_EXIT_INTR:
      exit.kind = VcpuExit::Kind::kInterrupted;
      break;
    default:
      exit.kind = VcpuExit::Kind::kOther;
      break;
  }
  return exit;
}

Result<std::span<uint8_t>> Vcpu::ioData() {
  // SAFETY: run_ is the live kvm_run (invariant); we only read it on the vCPU thread between runs.
  if (run_->exit_reason != KVM_EXIT_IO) {
    return makeError(
        ErrorCode::kInternal,
        std::string("ioData() after ") + kvmExitName(run_->exit_reason) + ", not KVM_EXIT_IO");
  }
  const uint64_t offset = run_->io.data_offset;
  const uint64_t len = uint64_t{run_->io.size} * uint64_t{run_->io.count};  // both 32-bit at most
  // Checked without overflow: offset and len are each compared with mmap_size_ first.
  if (offset > mmap_size_ || len > mmap_size_ - offset) {
    return makeError(ErrorCode::kInvalidParameter,
                     "kvm_run io data [" + std::to_string(offset) + ", +" + std::to_string(len) +
                         ") lies outside the " + std::to_string(mmap_size_) + "-byte kvm_run map");
  }
  // SAFETY: [offset, offset + len) was just checked to lie inside our mmap_size_-byte mapping.
  auto* base = reinterpret_cast<uint8_t*>(run_);
  return std::span<uint8_t>(base + offset, static_cast<size_t>(len));
}

void Vcpu::setImmediateExit(bool value) {
  // SAFETY: run_ is live (invariant). The kernel reads immediate_exit with READ_ONCE at KVM_RUN
  // entry; atomic_ref makes our store a single untorn byte store visible to the vCPU thread.
  std::atomic_ref<uint8_t>(run_->immediate_exit).store(value ? 1 : 0, std::memory_order_seq_cst);
}

Result<kvm_regs> Vcpu::getRegs() const {
  kvm_regs regs{};
  // SAFETY: the kernel writes exactly sizeof(kvm_regs) bytes into our stack object.
  if (::ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) return errnoError("KVM_GET_REGS", errno);
  return regs;
}

Result<void> Vcpu::setRegs(const kvm_regs& regs) {
  // SAFETY: the kernel only reads sizeof(kvm_regs) bytes from the caller's object.
  if (::ioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) return errnoError("KVM_SET_REGS", errno);
  return {};
}

Result<kvm_sregs> Vcpu::getSregs() const {
  kvm_sregs sregs{};
  // SAFETY: the kernel writes exactly sizeof(kvm_sregs) bytes into our stack object.
  if (::ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) return errnoError("KVM_GET_SREGS", errno);
  return sregs;
}

Result<void> Vcpu::setSregs(const kvm_sregs& sregs) {
  // SAFETY: the kernel only reads sizeof(kvm_sregs) bytes from the caller's object.
  if (::ioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) return errnoError("KVM_SET_SREGS", errno);
  return {};
}

}  // namespace hearth::vmm
