#include "sandbox/child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace hearth::sandbox {
namespace {

// The channel's fixed descriptor number in PID 1 (SandboxSpec's contract).
constexpr int kChannelFd = 3;
// Descriptors below this are the ones PID 1 keeps (stdio and the channel).
constexpr int kFirstPrivateFd = 4;

[[noreturn]] void fail(int report_fd, ChildStep step, uint32_t detail, int err) {
  ChildReport r{static_cast<uint32_t>(step), detail, err};
  // SAFETY: a 12-byte write to a pipe is atomic (< PIPE_BUF); if it fails the parent still sees
  // EOF without a report and a dead child, which it reports as such.
  ssize_t ignored = ::write(report_fd, &r, sizeof r);
  (void)ignored;
  ::_exit(127);
}

// Moves `fd` to a number ≥ kFirstPrivateFd so that installing stdio and the channel cannot
// clobber it. Returns the new fd or -1.
int moveHigh(int fd) {
  if (fd >= kFirstPrivateFd) return fd;
  // SAFETY: F_DUPFD_CLOEXEC only allocates a new descriptor for an open file we own.
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, kFirstPrivateFd);
  if (moved >= 0) ::close(fd);
  return moved;
}

// Executes one filesystem step; returns 0 or an errno.
int runOp(const FsOp& op) {
  const char* target = op.target.c_str();
  // SAFETY (every call below): each string it passes is NUL-terminated and owned by the
  // plan, which the parent keeps alive; the kernel copies them.
  switch (op.kind) {
    case FsOpKind::kMountTmpfs:
      return ::mount("tmpfs", target, "tmpfs", op.flags, op.data.c_str()) == 0 ? 0 : errno;
    case FsOpKind::kMkdir:
      return ::mkdir(target, op.mode) == 0 || errno == EEXIST ? 0 : errno;
    case FsOpKind::kSymlink:
      return ::symlink(op.source.c_str(), target) == 0 ? 0 : errno;
    case FsOpKind::kWriteFile: {
      int fd = ::open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, op.mode);
      if (fd < 0) return errno;
      size_t done = 0;
      while (done < op.source.size()) {
        ssize_t n = ::write(fd, op.source.data() + done, op.source.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          int err = n < 0 ? errno : EIO;
          ::close(fd);
          return err;
        }
        done += static_cast<size_t>(n);
      }
      return ::close(fd) == 0 ? 0 : errno;
    }
    case FsOpKind::kBind:
      if (::mount(op.source.c_str(), target, nullptr, MS_BIND, nullptr) != 0) return errno;
      // A bind mount ignores flags; read-only & co. take a second, remounting call.
      if (op.flags != 0 &&
          ::mount(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | op.flags, nullptr) != 0) {
        return errno;
      }
      return 0;
    case FsOpKind::kMountProc:
      return ::mount("proc", target, "proc", op.flags, nullptr) == 0 ? 0 : errno;
    case FsOpKind::kMountExt4:
      return ::mount(op.source.c_str(), target, "ext4", op.flags, nullptr) == 0 ? 0 : errno;
    case FsOpKind::kRmdir:
      return ::rmdir(target) == 0 || errno == ENOENT ? 0 : errno;
    case FsOpKind::kMountFlags:
      return ::mount(nullptr, target, nullptr, op.flags, nullptr) == 0 ? 0 : errno;
    case FsOpKind::kPivotRoot:
      // pivot_root(".", ".") stacks the old root on top of the new one at "/"; detaching the
      // top mount then leaves only the new root, with no directory needed to park the old one.
      if (::chdir(target) != 0) return errno;
      // SAFETY: both paths are string literals; pivot_root has no glibc wrapper.
      if (::syscall(SYS_pivot_root, ".", ".") != 0) return errno;
      if (::umount2(".", MNT_DETACH) != 0) return errno;
      return ::chdir("/") == 0 ? 0 : errno;
    case FsOpKind::kChdir:
      return ::chdir(target) == 0 ? 0 : errno;
  }
  return EINVAL;
}

int loopbackUp() {
  int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return errno;
  ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, "lo", 3);
  // SAFETY: SIOC[GS]IFFLAGS read/write ifr_flags of a zero-initialised ifreq naming "lo".
  int err = 0;
  if (::ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) {
    err = errno;
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) err = errno;
  }
  ::close(sock);
  return err;
}

}  // namespace

const char* childStepName(ChildStep step) {
  switch (step) {
    case ChildStep::kPrepareFds:
      return "prepare descriptors";
    case ChildStep::kWaitForParent:
      return "wait for cgroup placement";
    case ChildStep::kUnshareCgroup:
      return "unshare(CLONE_NEWCGROUP)";
    case ChildStep::kFilesystem:
      return "rootfs";
    case ChildStep::kHostname:
      return "sethostname";
    case ChildStep::kLoopback:
      return "bring up lo";
    case ChildStep::kSignals:
      return "reset signals";
    case ChildStep::kStdio:
      return "set up stdin and channel";
    case ChildStep::kCloseFds:
      return "close_range";
    case ChildStep::kRlimits:
      return "setrlimit";
    case ChildStep::kCapBounding:
      return "drop bounding capabilities";
    case ChildStep::kCapAmbient:
      return "clear ambient capabilities";
    case ChildStep::kSetgroups:
      return "setgroups";
    case ChildStep::kSetresgid:
      return "setresgid";
    case ChildStep::kSetresuid:
      return "setresuid";
    case ChildStep::kCapset:
      return "capset";
    case ChildStep::kNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case ChildStep::kSeccomp:
      return "seccomp";
    case ChildStep::kExecve:
      return "execve";
  }
  return "unknown step";
}

void runChild(const ChildPlan& plan) {
  int report = plan.report_fd;
  // Modes in the plan are meant literally.
  ::umask(0);

  for (int fd : plan.parent_fds) ::close(fd);
  report = moveHigh(report);
  if (report < 0) fail(plan.report_fd, ChildStep::kPrepareFds, 0, errno);
  int go = moveHigh(plan.go_fd);
  if (go < 0) fail(report, ChildStep::kPrepareFds, 1, errno);
  int channel = moveHigh(plan.channel_fd);
  if (channel < 0) fail(report, ChildStep::kPrepareFds, 2, errno);

  // hearthd's handlers must not run here, and what it ignores (SIGPIPE) must not stay ignored
  // in the function. Signals stay blocked (the parent blocked them for the clone) until execve.
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    ::sigaction(sig, &sa, nullptr);  // EINVAL for SIGKILL, SIGSTOP and libc-reserved signals
  }

  // The parent writes one byte once this process is in its cgroups, and closes the pipe without
  // writing if it gives up.
  char byte = 0;
  ssize_t n;
  do {
    n = ::read(go, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) fail(report, ChildStep::kWaitForParent, 0, n < 0 ? errno : ECANCELED);
  ::close(go);

  // Now a member of the sandbox cgroup: make it the root of what the sandbox can see.
  if (::unshare(CLONE_NEWCGROUP) != 0) fail(report, ChildStep::kUnshareCgroup, 0, errno);

  for (size_t i = 0; i < plan.fs_ops.size(); ++i) {
    int err = runOp(plan.fs_ops[i]);
    if (err != 0) fail(report, ChildStep::kFilesystem, static_cast<uint32_t>(i), err);
  }

  if (::sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    fail(report, ChildStep::kHostname, 0, errno);
  }
  if (int err = loopbackUp(); err != 0) fail(report, ChildStep::kLoopback, 0, err);

  // stdin from /dev/null (of the new root), the channel at fd 3 without CLOEXEC.
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) fail(report, ChildStep::kStdio, 0, errno);
  if (::dup2(null_fd, STDIN_FILENO) < 0) fail(report, ChildStep::kStdio, 1, errno);
  if (::dup2(channel, kChannelFd) < 0) fail(report, ChildStep::kStdio, 2, errno);
  // Everything from 4 up (hearthd's descriptors, the report pipe) closes on execve.
  // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on our own descriptors.
  if (::syscall(SYS_close_range, kFirstPrivateFd, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    fail(report, ChildStep::kCloseFds, 0, errno);
  }

  // Lambda's limits: 1024 open files; no core dumps (the root is read-only anyway). Set while
  // still privileged so hard limits can be lowered and raised alike; the function cannot raise
  // them back.
  // SAFETY: setrlimit reads two integers from a struct on our stack.
  const rlimit files{plan.max_open_files, plan.max_open_files};
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_NOFILE, &files) != 0) fail(report, ChildStep::kRlimits, 0, errno);
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) fail(report, ChildStep::kRlimits, 1, errno);

  // Capabilities: the bounding set needs CAP_SETPCAP, so it goes before the uid change.
  for (int cap = 0; cap <= plan.cap_last; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      fail(report, ChildStep::kCapBounding, static_cast<uint32_t>(cap), errno);
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    fail(report, ChildStep::kCapAmbient, 0, errno);
  }
  // Raw syscalls: glibc's wrappers would signal the parent's (absent) threads to follow suit.
  // SAFETY: the group list is one gid on our stack; set*id take plain integers.
  gid_t groups[1] = {plan.gid};
  if (::syscall(SYS_setgroups, 1, groups) != 0) fail(report, ChildStep::kSetgroups, 0, errno);
  if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) {
    fail(report, ChildStep::kSetresgid, 0, errno);
  }
  if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) {
    fail(report, ChildStep::kSetresuid, 0, errno);
  }
  // Leaving uid 0 cleared the permitted and effective sets already; make it explicit for all
  // three, so nothing depends on securebits.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  std::memset(data, 0, sizeof data);
  // SAFETY: a version-3 header with pid 0 (this thread) and two zeroed data words, as capset
  // expects for _LINUX_CAPABILITY_VERSION_3.
  if (::syscall(SYS_capset, &header, data) != 0) fail(report, ChildStep::kCapset, 0, errno);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(report, ChildStep::kNoNewPrivs, 0, errno);
  if (int err = plan.seccomp->install(); err != 0) fail(report, ChildStep::kSeccomp, 0, err);

  ::umask(022);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(plan.argv[0], plan.argv.data(), plan.envp.data());
  fail(report, ChildStep::kExecve, 0, errno);
}

}  // namespace hearth::sandbox
