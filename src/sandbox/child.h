// The sandbox's first process between clone and exec.
//
// Everything here runs in a forked copy of hearthd (clone3 without CLONE_VM) before execve.
// Other hearthd threads may have held locks at the moment of the clone, so this code allocates
// nothing, logs nothing, and calls only raw syscalls and async-signal-safe libc wrappers; glibc's
// own set*id wrappers are avoided because they would try to synchronise threads that do not
// exist in the child. All strings and arrays it needs are prepared by the parent in ChildPlan.
//
// Failure protocol: the child writes one ChildReport to `report_fd` (a CLOEXEC pipe) and exits
// 127. Success is the pipe closing on execve without a report.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/rootfs.h"
#include "sandbox/seccomp_policy.h"

namespace hearth::sandbox {

// The steps of child set-up, in order. kFilesystem's detail is the index of the failing FsOp.
enum class ChildStep : uint32_t {
  kPrepareFds,
  kWaitForParent,
  kUnshareCgroup,
  kFilesystem,
  kHostname,
  kLoopback,
  kSignals,
  kStdio,
  kCloseFds,
  kRlimits,
  kCapBounding,
  kCapAmbient,
  kSetgroups,
  kSetresgid,
  kSetresuid,
  kCapset,
  kNoNewPrivs,
  kSeccomp,
  kExecve,
};

// "execve", "pivot_root", ... for error messages.
const char* childStepName(ChildStep step);

// Written by the child on failure. Plain integers: the pipe never leaves this host.
struct ChildReport {
  uint32_t step;    // ChildStep
  uint32_t detail;  // kFilesystem: FsOp index
  int32_t err;      // errno
};

struct ChildPlan {
  // The parent's fds the child must not keep (the other ends of the pipes below).
  std::vector<int> parent_fds;
  int report_fd = -1;   // write end of the report pipe (CLOEXEC)
  int go_fd = -1;       // read end of the go pipe: one byte once the child is in its cgroups
  int channel_fd = -1;  // the sandbox's end of the channel; becomes fd 3

  std::vector<FsOp> fs_ops;
  std::string hostname;
  uid_t uid = 0;
  gid_t gid = 0;
  int cap_last = 0;  // /proc/sys/kernel/cap_last_cap
  uint64_t max_open_files = 1024;  // RLIMIT_NOFILE, Lambda's per-environment limit
  const SeccompProgram* seccomp = nullptr;

  // NULL-terminated, pointing into argv_storage / env_storage.
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

// Sets up the sandbox from inside and execs PID 1. Never returns.
// REQUIRES: called in the clone3 child, in its new namespaces, with all signals blocked.
[[noreturn]] void runChild(const ChildPlan& plan);

}  // namespace hearth::sandbox
