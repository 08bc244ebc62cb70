// The speed probe (issue 5, item 9): is KVM on this host hardware-accelerated?
//
// The probe boots a few bytes of 16-bit real-mode code in a fresh one-vCPU VM, times KVM_RUN from
// entry to the guest's exit (an OUT to kProbeExitPort) and divides the known instruction count by
// the elapsed time. Hardware VT-x/AMD-V runs this loop at roughly 1e9 instructions/s; the
// software-assisted kvm_pvm of the development machines at roughly 1e6/s. The cut-off,
// kHardwareInstructionsPerSecond, sits two orders of magnitude from both. docs/vmm.md#probe.
//
// Thread-safety: runRealModeGuest() and runProbe() may run concurrently (each makes its own VM);
// they start one short-lived watchdog thread each.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace hearth::vmm {

class Kvm;

// At or above this rate KVM counts as hardware-accelerated.
inline constexpr double kHardwareInstructionsPerSecond = 100e6;
// The port the probe guest writes to when done, and the byte it writes.
inline constexpr uint16_t kProbeExitPort = 0xf4;
inline constexpr uint8_t kProbeExitValue = 0x42;
// Where guest code is placed; CS:IP = 0000:1000 in real mode.
inline constexpr uint64_t kGuestCodeAddress = 0x1000;
// Guest RAM of a probe VM.
inline constexpr uint64_t kProbeMemoryBytes = 2 << 20;

// A counted-loop guest: the machine code and exactly how many instructions it retires up to and
// including its OUT.
struct GuestProgram {
  std::vector<uint8_t> code;
  uint64_t instructions = 0;
};

// Real-mode code that loops `iterations` times and then writes `value` to I/O port `port`
// (followed by HLT, should the VMM resume it). REQUIRES: iterations >= 1.
GuestProgram countedLoopGuest(uint32_t iterations, uint8_t port, uint8_t value);

// What a guest run produced.
struct GuestRun {
  uint8_t out_value = 0;                // the byte the guest wrote to the expected port
  std::chrono::nanoseconds elapsed{0};  // wall time spent in KVM_RUN until that exit
  uint32_t interruptions = 0;           // KVM_RUN returns with EINTR before the exit
};

// Creates a VM with kProbeMemoryBytes of RAM (slot 0 at guest physical 0), loads `code` at
// kGuestCodeAddress, starts one vCPU in real mode at 0000:1000 and runs it until it exits.
// Succeeds only if the exit is a one-byte OUT to `expected_port`. Errors (code kSandbox): any
// other exit (HLT, shutdown, internal error, another port, IN), and no exit within `timeout`
// (a watchdog sets immediate_exit and signals the vCPU thread). Setup failures (memory, VM,
// vCPU, registers) are returned as they come, with kUnsupported where KVM refuses.
Result<GuestRun> runRealModeGuest(const Kvm& kvm, std::span<const uint8_t> code,
                                  uint16_t expected_port, std::chrono::milliseconds timeout);

struct ProbeOptions {
  std::string kvm_path = "/dev/kvm";
  uint32_t iterations = 200'000;  // 400,003 instructions: ~0.4 s at 1e6/s, ~0.4 ms on hardware
  std::chrono::milliseconds timeout{5000};
};

struct ProbeReport {
  bool kvm = false;  // /dev/kvm opened and ran the guest
  bool hardware_accelerated = false;
  double instructions_per_second = 0;
  uint64_t loop_instructions = 0;
  std::chrono::nanoseconds elapsed{0};
  std::string reason;
};

// Runs the probe. KVM missing or unusable (cannot open, create a VM or set up a vCPU) is not an
// error: it is a report with kvm = false and the reason. A guest that runs but misbehaves or
// hangs is an error.
Result<ProbeReport> runProbe(const ProbeOptions& options = {});

// The report as one line of JSON: {"kvm", "hardware_accelerated", "instructions_per_second",
// "loop_instructions", "elapsed_ms", "threshold_instructions_per_second", "reason"}; the rate,
// count and time only when kvm is true.
std::string probeReportToJson(const ProbeReport& report);

}  // namespace hearth::vmm
