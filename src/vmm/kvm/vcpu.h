// Vcpu: one KVM virtual CPU (a KVM_CREATE_VCPU fd) and its shared kvm_run page.
//
// Ownership: created by Vm::createVcpu(); owns the vCPU fd and the kvm_run mapping. Must not
// outlive the Vm it came from.
//
// Thread-safety: run(), the register accessors and ioData() belong to the one thread that runs
// the vCPU. setImmediateExit() may be called from any thread: it is how another thread (a
// watchdog, the VMM thread pausing the VM) asks a running or about-to-run vCPU to return, paired
// with a signal to the vCPU thread that interrupts a KVM_RUN already in progress.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::vmm {

// Why KVM_RUN returned, decoded from kvm_run. Only the fields of the matching kind are set.
struct VcpuExit {
  enum class Kind {
    kIo,             // port I/O (KVM_EXIT_IO): see io and Vcpu::ioData()
    kHlt,            // the guest executed HLT (KVM_EXIT_HLT)
    kShutdown,       // triple fault or similar (KVM_EXIT_SHUTDOWN)
    kInternalError,  // KVM could not emulate something (KVM_EXIT_INTERNAL_ERROR): suberror
    kFailEntry,      // VM entry failed (KVM_EXIT_FAIL_ENTRY): hardware_reason
    kInterrupted,    // KVM_RUN returned EINTR: a signal or immediate_exit
    kOther,          // any other exit; raw_reason says which
  };
  Kind kind = Kind::kOther;
  uint32_t raw_reason = 0;  // kvm_run::exit_reason (KVM_EXIT_*)

  struct Io {
    bool out = false;  // KVM_EXIT_IO_OUT: guest to VMM
    uint16_t port = 0;
    uint8_t size = 0;    // bytes per access: 1, 2 or 4
    uint32_t count = 0;  // accesses (> 1 for string I/O)
  } io;
  uint32_t suberror = 0;         // kInternalError
  uint64_t hardware_reason = 0;  // kFailEntry
};

// Human-readable name of a KVM_EXIT_* reason, for error messages.
const char* kvmExitName(uint32_t reason);

class Vcpu {
 public:
  Vcpu(Vcpu&& other) noexcept;
  Vcpu& operator=(Vcpu&& other) noexcept;
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;
  ~Vcpu();

  // One KVM_RUN. Returns the decoded exit, or kInterrupted when a signal or immediate_exit ended
  // it early (EINTR). Other ioctl failures are errors.
  Result<VcpuExit> run();

  // The data bytes of the last kIo exit, inside the kvm_run mapping (size * count bytes at
  // io.data_offset). Fails with kInternal if the last exit was not port I/O, and with
  // kInvalidParameter if the kernel-reported offset and length do not lie inside the mapping.
  // For OUT the bytes are what the guest wrote; for IN the VMM fills them before the next run().
  // The span is valid until the next run().
  Result<std::span<uint8_t>> ioData();

  // Sets kvm_run::immediate_exit (KVM_CAP_IMMEDIATE_EXIT): while set, KVM_RUN returns EINTR at
  // once without entering the guest. Safe from any thread.
  void setImmediateExit(bool value);

  Result<kvm_regs> getRegs() const;
  Result<void> setRegs(const kvm_regs& regs);
  Result<kvm_sregs> getSregs() const;
  Result<void> setSregs(const kvm_sregs& sregs);

  int fd() const { return fd_.get(); }

 private:
  friend class Vm;
  static Result<Vcpu> create(UniqueFd fd, size_t mmap_size);
  Vcpu(UniqueFd fd, kvm_run* run, size_t mmap_size)
      : fd_(std::move(fd)), run_(run), mmap_size_(mmap_size) {}
  void unmap();

  UniqueFd fd_;
  // Invariant: run_ is either null (moved from) or a live MAP_SHARED mapping of mmap_size_ bytes
  // of the vCPU fd, with mmap_size_ >= sizeof(kvm_run) (checked by Kvm::open()).
  kvm_run* run_ = nullptr;
  size_t mmap_size_ = 0;
};

}  // namespace hearth::vmm
