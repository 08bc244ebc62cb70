// The seccomp policy, installed in a forked child of the test (no root needed: no_new_privs
// makes it installable), checked syscall by syscall against what the kernel answers.
#include "sandbox/seccomp_policy.h"

#include <asm/unistd.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>

namespace hearth::sandbox {
namespace {

// Runs `body` in a forked child under the policy. Returns the child's wait status; a failed
// expectation in the child is printed and turns into exit status 1.
int runConfined(const SeccompProgram& program, const std::function<std::string()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(2);
    if (program.install() != 0) _exit(3);
    std::string failure = body();
    if (!failure.empty()) {
      fprintf(stderr, "%s\n", failure.c_str());
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::string expectErrno(const char* what, long rc, int want) {
  if (rc == -1 && errno == want) return "";
  return std::string(what) + ": rc=" + std::to_string(rc) + " errno=" + std::strerror(errno) +
         ", want " + std::strerror(want);
}

TEST(SeccompPolicy, DeniesWhatFunctionsNeverNeedAndAllowsTheRest) {
  auto program = SeccompProgram::build();
  ASSERT_TRUE(program.ok()) << program.error().toString();

  int status = runConfined(*program, [] {
    std::string f;
    f += expectErrno("mount", mount("none", "/nonexistent", "tmpfs", 0, nullptr), EPERM);
    f += expectErrno("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER), EPERM);
    f += expectErrno("clone(CLONE_NEWUSER)", syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0),
                     EPERM);
    f += expectErrno("clone(CLONE_NEWNET)", syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0),
                     EPERM);
    clone_args args;
    std::memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    f += expectErrno("clone3", syscall(SYS_clone3, &args, sizeof args), ENOSYS);
    f += expectErrno("ptrace", syscall(SYS_ptrace, 0, 0, 0, 0), EPERM);
    f += expectErrno("bpf", syscall(SYS_bpf, 0, 0, 0), EPERM);
    f += expectErrno("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM);
    f += expectErrno("personality(PER_LINUX32)", personality(PER_LINUX32), EPERM);
    f += expectErrno("personality(ADDR_NO_RANDOMIZE)", personality(ADDR_NO_RANDOMIZE), EPERM);
    // Allowed: querying and setting the default persona, plain fork (clone without namespace
    // flags, which is how glibc forks once clone3 says ENOSYS), ordinary syscalls.
    if (personality(0xffffffff) == -1) f += "personality query denied; ";
    if (personality(PER_LINUX) == -1) f += "personality(PER_LINUX) denied; ";
    pid_t child = fork();
    if (child == 0) _exit(7);
    int st = 0;
    if (child < 0 || waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 7) {
      f += "fork failed; ";
    }
    if (getpid() <= 0) f += "getpid failed; ";
    return f;
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST(SeccompPolicy, KillsSyscallsOfAnotherAbi) {
  auto program = SeccompProgram::build();
  ASSERT_TRUE(program.ok()) << program.error().toString();
  // x32 syscall numbers have bit 30 set and would bypass a table keyed on x86-64 numbers.
  int status = runConfined(*program, [] {
    syscall(__X32_SYSCALL_BIT | __NR_getpid);
    return std::string("x32 getpid returned");
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

}  // namespace
}  // namespace hearth::sandbox
