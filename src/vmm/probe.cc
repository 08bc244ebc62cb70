// The speed probe: the hand-assembled guest, the timed run with its watchdog, the report.
#include "vmm/probe.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>

#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "vmm/kvm/kvm.h"
#include "vmm/kvm/vcpu.h"
#include "vmm/kvm/vm.h"
#include "vmm/memory/guest_memory.h"

namespace hearth::vmm {
namespace {

// The signal a watchdog sends to interrupt a KVM_RUN in progress (as Firecracker's vCPU kick).
int kickSignal() { return SIGRTMIN; }

void installKickHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};  // only there so that the signal interrupts KVM_RUN with EINTR
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
    // SAFETY: installs a handler that does nothing, so it is async-signal-safe; SIGRTMIN is not
    // used by anything else in hearth-vmm.
    ::sigaction(kickSignal(), &sa, nullptr);
  });
}

// KVM's TSS for real-mode emulation on hosts without unrestricted guest: three pages just below
// the BIOS area, far above our guest RAM (Firecracker uses the same address).
constexpr uint64_t kTssAddress = 0xfffbd000;

std::string describeExit(const VcpuExit& exit) {
  std::string s = kvmExitName(exit.raw_reason);
  if (exit.kind == VcpuExit::Kind::kIo) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), " (%s port 0x%x, size %u, count %u)",
                  exit.io.out ? "OUT" : "IN", exit.io.port, exit.io.size, exit.io.count);
    s += buf;
  } else if (exit.kind == VcpuExit::Kind::kInternalError) {
    s += " (suberror " + std::to_string(exit.suberror) + ")";
  } else if (exit.kind == VcpuExit::Kind::kFailEntry) {
    s += " (hardware reason " + std::to_string(exit.hardware_reason) + ")";
  }
  return s;
}

// Bounds a vCPU run: after `timeout`, sets immediate_exit and signals the vCPU thread every
// kKickInterval until stop() (a KVM_RUN entered between our store and the first signal still
// sees immediate_exit; repeating covers any signal that lands outside KVM_RUN).
class Watchdog {
 public:
  Watchdog(Vcpu& vcpu, std::chrono::milliseconds timeout)
      : vcpu_(vcpu), target_(::pthread_self()), thread_([this, timeout] { loop(timeout); }) {}
  ~Watchdog() { stop(); }

  void stop() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() const {
    std::lock_guard lock(mu_);
    return fired_;
  }

 private:
  static constexpr std::chrono::milliseconds kKickInterval{20};

  void loop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, timeout, [this] { return done_; })) return;
    fired_ = true;
    vcpu_.setImmediateExit(true);
    while (!done_) {
      // SAFETY: target_ is the vCPU thread, alive until it calls stop(), which joins us first;
      // the kick handler is a no-op.
      ::pthread_kill(target_, kickSignal());
      cv_.wait_for(lock, kKickInterval, [this] { return done_; });
    }
  }

  Vcpu& vcpu_;
  const pthread_t target_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;   // guarded by mu_
  bool fired_ = false;  // guarded by mu_
  std::thread thread_;  // last: starts after the members it uses exist
};

Error guestError(const std::string& message) { return makeError(ErrorCode::kSandbox, message); }

}  // namespace

GuestProgram countedLoopGuest(uint32_t iterations, uint8_t port, uint8_t value) {
  CHECK(iterations >= 1);  // 0 would wrap ECX and loop 2^32 times
  // 16-bit real mode, loaded at 0000:1000. Offsets relative to kGuestCodeAddress:
  //   +0x0  66 B9 nn nn nn nn   mov ecx, iterations   (0x66: 32-bit operand in 16-bit code)
  //   +0x6  66 49               l: dec ecx
  //   +0x8  75 FC               jnz l                 (rel8 -4: from +0xA back to +0x6)
  //   +0xA  B0 vv               mov al, value
  //   +0xC  E6 pp               out port, al          (KVM_EXIT_IO, OUT, size 1)
  //   +0xE  F4                  hlt                   (only if the VMM resumes the guest)
  // Retired up to and including the OUT: 1 + 2 * iterations + 2.
  GuestProgram g;
  g.code = {0x66,
            0xB9,
            static_cast<uint8_t>(iterations),
            static_cast<uint8_t>(iterations >> 8),
            static_cast<uint8_t>(iterations >> 16),
            static_cast<uint8_t>(iterations >> 24),
            0x66,
            0x49,
            0x75,
            0xFC,
            0xB0,
            value,
            0xE6,
            port,
            0xF4};
  g.instructions = 2 * uint64_t{iterations} + 3;
  return g;
}

Result<GuestRun> runRealModeGuest(const Kvm& kvm, std::span<const uint8_t> code,
                                  uint16_t expected_port, std::chrono::milliseconds timeout) {
  auto memory = GuestMemory::create(kProbeMemoryBytes);
  if (!memory) return std::move(memory).error();
  HEARTH_TRY(memory->write(kGuestCodeAddress, code));

  auto vm = kvm.createVm();
  if (!vm) return std::move(vm).error();
  HEARTH_TRY(vm->setTssAddress(kTssAddress));
  HEARTH_TRY(vm->setUserMemoryRegion(0, 0, *memory));
  auto vcpu = vm->createVcpu(0);
  if (!vcpu) return std::move(vcpu).error();

  // Real mode after reset has CS = F000 with base FFFF0000; point every segment at 0 instead
  // (selector 0, base 0, the reset limit 0xFFFF and access rights) so CS:IP = 0000:1000.
  auto sregs = vcpu->getSregs();
  if (!sregs) return std::move(sregs).error();
  for (kvm_segment* seg :
       {&sregs->cs, &sregs->ds, &sregs->es, &sregs->fs, &sregs->gs, &sregs->ss}) {
    seg->base = 0;
    seg->selector = 0;
  }
  HEARTH_TRY(vcpu->setSregs(*sregs));
  kvm_regs regs{};
  regs.rip = kGuestCodeAddress;
  regs.rsp = 0x8000;
  regs.rflags = 0x2;  // bit 1 is reserved and must be set; interrupts off
  HEARTH_TRY(vcpu->setRegs(regs));

  installKickHandler();
  GuestRun result;
  Watchdog watchdog(*vcpu, timeout);
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    auto exit = vcpu->run();
    if (!exit) return std::move(exit).error();
    if (exit->kind == VcpuExit::Kind::kInterrupted) {
      if (watchdog.fired()) {
        return guestError("guest did not exit within " + std::to_string(timeout.count()) +
                          " ms; stopped it");
      }
      ++result.interruptions;  // a stray signal: keep going
      continue;
    }
    result.elapsed = std::chrono::steady_clock::now() - start;
    if (exit->kind != VcpuExit::Kind::kIo || !exit->io.out || exit->io.port != expected_port ||
        exit->io.size != 1 || exit->io.count != 1) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "0x%x", expected_port);
      return guestError("guest exited with " + describeExit(*exit) +
                        ", expected a one-byte OUT to port " + buf);
    }
    auto data = vcpu->ioData();
    if (!data) return std::move(data).error();
    result.out_value = (*data)[0];  // size 1, count 1: ioData() checked it holds one byte
    break;
  }
  watchdog.stop();
  return result;
}

Result<ProbeReport> runProbe(const ProbeOptions& options) {
  ProbeReport report;
  auto kvm = Kvm::open(options.kvm_path);
  if (!kvm) {
    report.reason = "KVM unavailable: " + kvm.error().message;
    return report;
  }
  const GuestProgram guest = countedLoopGuest(options.iterations, kProbeExitPort, kProbeExitValue);
  auto run = runRealModeGuest(*kvm, guest.code, kProbeExitPort, options.timeout);
  if (!run) {
    // KVM refusing the setup means "no usable KVM"; a guest that ran and misbehaved is an error.
    if (run.error().code != ErrorCode::kSandbox) {
      report.reason = "KVM unusable: " + run.error().message;
      return report;
    }
    return std::move(run).error();
  }
  if (run->out_value != kProbeExitValue) {
    return guestError("probe guest wrote " + std::to_string(run->out_value) + ", expected " +
                      std::to_string(kProbeExitValue));
  }
  const double seconds = std::chrono::duration<double>(run->elapsed).count();
  report.kvm = true;
  report.loop_instructions = guest.instructions;
  report.elapsed = run->elapsed;
  report.instructions_per_second =
      seconds > 0 ? static_cast<double>(guest.instructions) / seconds : 0;
  report.hardware_accelerated = report.instructions_per_second >= kHardwareInstructionsPerSecond;
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%llu guest instructions in %.1f ms: %.3g/s is %s the %.0e/s threshold, so KVM "
                "here is %s",
                static_cast<unsigned long long>(guest.instructions), seconds * 1e3,
                report.instructions_per_second,
                report.hardware_accelerated ? "at or above" : "below",
                kHardwareInstructionsPerSecond,
                report.hardware_accelerated ? "hardware-accelerated"
                                            : "software-assisted (too slow to boot Linux)");
  report.reason = buf;
  return report;
}

std::string probeReportToJson(const ProbeReport& report) {
  nlohmann::ordered_json j;
  j["kvm"] = report.kvm;
  j["hardware_accelerated"] = report.hardware_accelerated;
  if (report.kvm) {
    j["instructions_per_second"] = std::round(report.instructions_per_second);
    j["loop_instructions"] = report.loop_instructions;
    j["elapsed_ms"] =
        std::round(std::chrono::duration<double, std::milli>(report.elapsed).count() * 1000) / 1000;
  }
  j["threshold_instructions_per_second"] = kHardwareInstructionsPerSecond;
  j["reason"] = report.reason;
  return j.dump();
}

}  // namespace hearth::vmm
