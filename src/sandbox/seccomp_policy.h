// The seccomp policy of the process sandbox, and its compilation to a BPF program.
//
// The policy itself is data: one table in seccomp_policy.cc lists every denied syscall with the
// errno it returns and, where only some argument values are dangerous, the condition. Default is
// ALLOW (a function may use anything a normal unprivileged process may), the listed syscalls fail
// with an errno, and syscalls of a non-native ABI (i386 via int 0x80, x32) kill the process.
// docs/sandbox.md explains each entry.
//
// The filter is compiled once, in the parent, with libseccomp; the child installs the resulting
// program with one seccomp(2) call, which is allocation-free and therefore safe between clone
// and exec.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "common/result.h"

namespace hearth::sandbox {

// A compiled classic-BPF seccomp program. Immutable once built; safe to share between threads.
class SeccompProgram {
 public:
  // Compiles the sandbox policy for the native architecture. Errors are kSandbox.
  static Result<SeccompProgram> build();

  // A sock_fprog pointing into this object; valid while it lives.
  // SAFETY of use: the kernel only reads the program, so handing out a non-const pointer to
  // immutable storage is sound.
  sock_fprog fprog() const;

  // Installs the program on the calling thread (seccomp(SECCOMP_SET_MODE_FILTER)). Returns 0 or
  // an errno. Async-signal-safe and allocation-free: callable between clone and exec.
  // REQUIRES: PR_SET_NO_NEW_PRIVS is set, or the caller has CAP_SYS_ADMIN.
  int install() const;

 private:
  explicit SeccompProgram(std::vector<sock_filter> insns) : insns_(std::move(insns)) {}
  std::vector<sock_filter> insns_;
};

}  // namespace hearth::sandbox
