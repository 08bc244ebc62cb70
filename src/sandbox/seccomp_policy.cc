#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/unique_fd.h"

namespace hearth::sandbox {
namespace {

// How a denied syscall's arguments are matched.
enum class When {
  kAlways,               // every call is denied
  kNamespaceCloneFlags,  // clone(flags, ...) with any CLONE_NEW* flag in `flags`
  kNonDefaultPersona,    // personality(p) with p not PER_LINUX (0) and not the query 0xffffffff
};

struct DenyRule {
  const char* syscall;
  int err;  // errno returned instead of running the syscall
  When when;
};

// The policy. Everything not listed is allowed. Grouped by what the syscalls would let a
// function do; docs/sandbox.md has the reasoning per group.
constexpr DenyRule kPolicy[] = {
    // Changing the filesystem view or escaping it.
    {"mount", EPERM, When::kAlways},
    {"umount2", EPERM, When::kAlways},
    {"pivot_root", EPERM, When::kAlways},
    {"chroot", EPERM, When::kAlways},
    {"move_mount", EPERM, When::kAlways},
    {"open_tree", EPERM, When::kAlways},
    {"fsopen", EPERM, When::kAlways},
    {"fsconfig", EPERM, When::kAlways},
    {"fsmount", EPERM, When::kAlways},
    {"fspick", EPERM, When::kAlways},
    {"mount_setattr", EPERM, When::kAlways},
    {"open_by_handle_at", EPERM, When::kAlways},
    {"name_to_handle_at", EPERM, When::kAlways},
    // New namespaces: user namespaces in particular re-grant capabilities.
    {"unshare", EPERM, When::kAlways},
    {"setns", EPERM, When::kAlways},
    {"clone", EPERM, When::kNamespaceCloneFlags},
    // clone3 passes its flags in memory, which seccomp cannot inspect. ENOSYS makes glibc fall
    // back to clone, whose flags the rule above checks.
    {"clone3", ENOSYS, When::kAlways},
    // Inspecting or changing other processes and the kernel.
    {"ptrace", EPERM, When::kAlways},
    {"process_vm_readv", EPERM, When::kAlways},
    {"process_vm_writev", EPERM, When::kAlways},
    {"kcmp", EPERM, When::kAlways},
    {"bpf", EPERM, When::kAlways},
    {"perf_event_open", EPERM, When::kAlways},
    {"userfaultfd", EPERM, When::kAlways},
    {"lookup_dcookie", EPERM, When::kAlways},
    {"fanotify_init", EPERM, When::kAlways},
    {"syslog", EPERM, When::kAlways},
    {"kexec_load", EPERM, When::kAlways},
    {"kexec_file_load", EPERM, When::kAlways},
    {"init_module", EPERM, When::kAlways},
    {"finit_module", EPERM, When::kAlways},
    {"delete_module", EPERM, When::kAlways},
    {"reboot", EPERM, When::kAlways},
    {"swapon", EPERM, When::kAlways},
    {"swapoff", EPERM, When::kAlways},
    {"acct", EPERM, When::kAlways},
    {"quotactl", EPERM, When::kAlways},
    {"vhangup", EPERM, When::kAlways},
    {"iopl", EPERM, When::kAlways},
    {"ioperm", EPERM, When::kAlways},
    // The kernel keyring is not namespaced.
    {"keyctl", EPERM, When::kAlways},
    {"add_key", EPERM, When::kAlways},
    {"request_key", EPERM, When::kAlways},
    // The clock is host-wide.
    {"settimeofday", EPERM, When::kAlways},
    {"clock_settime", EPERM, When::kAlways},
    {"clock_adjtime", EPERM, When::kAlways},
    {"adjtimex", EPERM, When::kAlways},
    // Execution domains other than Linux's default reopen old ABI quirks (READ_IMPLIES_EXEC,
    // ADDR_NO_RANDOMIZE, ...).
    {"personality", EPERM, When::kNonDefaultPersona},
    // NUMA placement is the host's business.
    {"mbind", EPERM, When::kAlways},
    {"set_mempolicy", EPERM, When::kAlways},
    {"migrate_pages", EPERM, When::kAlways},
    {"move_pages", EPERM, When::kAlways},
};

constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                        CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Error libseccompError(const std::string& what, int rc) {
  return errnoError("seccomp: " + what, -rc, ErrorCode::kSandbox);
}

Result<void> addRule(scmp_filter_ctx ctx, const DenyRule& rule) {
  int nr = seccomp_syscall_resolve_name(rule.syscall);
  // A syscall this architecture does not have cannot be called; nothing to deny.
  if (nr == __NR_SCMP_ERROR) return {};
  const uint32_t action = SCMP_ACT_ERRNO(static_cast<uint16_t>(rule.err));
  switch (rule.when) {
    case When::kAlways: {
      int rc = seccomp_rule_add(ctx, action, nr, 0);
      if (rc < 0) return libseccompError(std::string("deny ") + rule.syscall, rc);
      return {};
    }
    case When::kNamespaceCloneFlags:
      // Rules for one syscall are OR-ed: deny if any one namespace flag is set in arg 0 (the
      // flags word of clone on every architecture libseccomp rewrites for us).
      for (uint64_t flag : kNamespaceFlags) {
        int rc = seccomp_rule_add(ctx, action, nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
        if (rc < 0) return libseccompError(std::string("deny ") + rule.syscall, rc);
      }
      return {};
    case When::kNonDefaultPersona:
      // personality takes an unsigned int. libseccomp compares an argument once per rule, so
      // "p != 0 && p != 0xffffffff" is written as a union: a 32-bit word is neither all zeros
      // nor all ones exactly when some bit b is set while bit b+1 (cyclically) is clear.
      for (uint32_t b = 0; b < 32; ++b) {
        const uint64_t bit = uint64_t{1} << b;
        const uint64_t next = uint64_t{1} << ((b + 1) % 32);
        int rc = seccomp_rule_add(ctx, action, nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, bit | next, bit));
        if (rc < 0) return libseccompError(std::string("deny ") + rule.syscall, rc);
      }
      return {};
  }
  return makeError(ErrorCode::kInternal, "seccomp: unknown rule kind");
}

}  // namespace

Result<SeccompProgram> SeccompProgram::build() {
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return makeError(ErrorCode::kSandbox, "seccomp: seccomp_init failed");
  // Another ABI on the same kernel (i386 int 0x80, x32) has other syscall numbers and would
  // walk past every rule: kill instead.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc < 0) return libseccompError("set bad-arch action", rc);
  // The sandbox sets no_new_privs itself, just before installing.
  rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return libseccompError("clear NNP attribute", rc);
  for (const DenyRule& rule : kPolicy) {
    auto added = addRule(ctx.get(), rule);
    if (!added) return std::move(added).error();
  }

  // libseccomp 2.5 exports only to a file descriptor; an anonymous memory file keeps it off disk.
  UniqueFd mem(memfd_create("hearth-seccomp", MFD_CLOEXEC));
  if (!mem) return errnoError("seccomp: memfd_create", errno, ErrorCode::kSandbox);
  rc = seccomp_export_bpf(ctx.get(), mem.get());
  if (rc < 0) return libseccompError("export BPF", rc);
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size < 0 || size % sizeof(sock_filter) != 0 || size == 0) {
    return makeError(ErrorCode::kSandbox, "seccomp: exported program has a bad size");
  }
  std::vector<sock_filter> insns(static_cast<size_t>(size) / sizeof(sock_filter));
  // SAFETY: sock_filter is a trivially-copyable struct of integers and the buffer holds exactly
  // `size` bytes, the length of the program libseccomp wrote in the kernel's own layout.
  ssize_t n = pread(mem.get(), insns.data(), static_cast<size_t>(size), 0);
  if (n != size) return errnoError("seccomp: read exported program", errno, ErrorCode::kSandbox);
  return SeccompProgram(std::move(insns));
}

sock_fprog SeccompProgram::fprog() const {
  // SAFETY: see the header; the kernel copies the program and never writes through the pointer.
  return sock_fprog{static_cast<unsigned short>(insns_.size()),
                    const_cast<sock_filter*>(insns_.data())};
}

int SeccompProgram::install() const {
  sock_fprog prog = fprog();
  // SAFETY: `prog` points at a complete program built by libseccomp for this architecture; the
  // kernel validates it and copies it before returning.
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  return 0;
}

}  // namespace hearth::sandbox
