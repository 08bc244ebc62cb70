// See child_process.h. Between fork and exec the child only makes async-signal-safe syscalls:
// no allocation, no logging; a failed exec reports errno through a close-on-exec pipe.
#include "init/child_process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/check.h"
#include "init/signals.h"

extern char** environ;

namespace hearth::init {
namespace {

Result<void> makePipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  // SAFETY: fds has room for two descriptors; both are owned by UniqueFds right after.
  if (::pipe2(fds, O_CLOEXEC) != 0) return errnoError("pipe2", errno);
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return {};
}

// Makes `fd` the child's descriptor `target`, without close-on-exec. Async-signal-safe.
bool installFd(int fd, int target) {
  if (fd == target) {
    // SAFETY: clearing FD_CLOEXEC on our own descriptor.
    return ::fcntl(fd, F_SETFD, 0) == 0;
  }
  // SAFETY: dup2 onto a standard descriptor; the duplicate does not inherit close-on-exec.
  return ::dup2(fd, target) == target;
}

[[noreturn]] void execChild(char* const* argv, int out_w, int err_w, int status_w) {
  resetSignalsForExec();
  // SAFETY: all calls below are async-signal-safe and use only stack data and fds set up
  // before fork.
  ::setpgid(0, 0);
  if (installFd(out_w, STDOUT_FILENO) && installFd(err_w, STDERR_FILENO)) {
    ::execve(argv[0], argv, environ);
  }
  const int err = errno;
  ssize_t ignored = ::write(status_w, &err, sizeof(err));
  (void)ignored;  // nothing more a child can do if the status pipe is gone
  ::_exit(kExecFailedExitCode);
}

}  // namespace

Result<RuntimeProcess> spawnRuntime(std::span<char* const> argv) {
  CHECK(argv.size() >= 2 && argv.back() == nullptr);
  UniqueFd out_r, out_w, err_r, err_w, status_r, status_w;
  HEARTH_TRY(makePipe(out_r, out_w));
  HEARTH_TRY(makePipe(err_r, err_w));
  HEARTH_TRY(makePipe(status_r, status_w));
  for (int fd : {out_r.get(), err_r.get()}) {
    // SAFETY: fcntl on our own read ends. The write ends (the child's stdout/stderr) stay
    // blocking: O_NONBLOCK lives on the open file description, and each end has its own.
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
      return errnoError("pipe: set O_NONBLOCK", errno);
    }
  }

  // SAFETY: hearth-init is single-threaded, so the child may run the async-signal-safe code in
  // execChild() without any lock held by another thread.
  const pid_t pid = ::fork();
  if (pid < 0) return errnoError("fork", errno);
  if (pid == 0) execChild(argv.data(), out_w.get(), err_w.get(), status_w.get());

  // Also set the group from the parent, so a kill(-pid) right after spawn cannot miss it.
  ::setpgid(pid, pid);
  out_w.reset();
  err_w.reset();
  status_w.reset();

  int child_errno = 0;
  ssize_t n;
  do {
    // SAFETY: reads at most sizeof(int) into an int.
    n = ::read(status_r.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int status = 0;
    // SAFETY: reaps the child we just forked (it already _exit()ed or is about to).
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return errnoError("exec " + std::string(argv[0]), child_errno, ErrorCode::kSandbox);
  }

  return RuntimeProcess{pid, std::move(out_r), std::move(err_r)};
}

}  // namespace hearth::init
