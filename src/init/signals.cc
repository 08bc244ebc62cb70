// See signals.h.
#include "init/signals.h"

#include <sys/signalfd.h>

#include <cerrno>
#include <csignal>

namespace hearth::init {
namespace {

constexpr int kIgnored[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGPIPE, SIGALRM, SIGTERM,
                            SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU};

}  // namespace

Result<UniqueFd> installInitSignals() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int sig : kIgnored) {
    // SAFETY: a valid sigaction for a catchable signal.
    if (::sigaction(sig, &ignore, nullptr) != 0) return errnoError("sigaction", errno);
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  // SAFETY: single-threaded at this point; blocking SIGCHLD so only the signalfd sees it.
  if (::sigprocmask(SIG_BLOCK, &chld, nullptr) != 0) return errnoError("sigprocmask", errno);
  // SAFETY: plain syscall; the fd is owned by the returned UniqueFd.
  const int fd = ::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return errnoError("signalfd", errno);
  return UniqueFd(fd);
}

void resetSignalsForExec() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  // SAFETY: sigaction and sigprocmask are async-signal-safe; no allocation here.
  for (int sig : kIgnored) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace hearth::init
