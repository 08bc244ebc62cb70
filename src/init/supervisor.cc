// See supervisor.h.
#include "init/supervisor.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "channel/frame.h"
#include "init/channel_link.h"
#include "init/child_process.h"
#include "init/diag.h"
#include "init/event_loop.h"
#include "init/http_server.h"
#include "init/runtime_api.h"
#include "init/signals.h"

namespace hearth::init {
namespace {

constexpr int kChannelFd = 3;
// How long init waits for the worker to take its last frames before exiting anyway.
constexpr int kFinalFlushTimeoutMs = 5000;

class Supervisor final : public RuntimeApi::Delegate {
 public:
  explicit Supervisor(EventLoop& loop) : loop_(loop), api_(*this) {}

  int run(std::span<char* const> runtime_argv);

  // RuntimeApi::Delegate
  void drainLogs() override;
  void sendFrame(channel::Frame frame) override { channel_->send(frame); }
  void protocolViolation(std::string_view what) override;

 private:
  // A runtime output pipe, forwarded as Log frames.
  class LogPipe final : public EventHandler {
   public:
    LogPipe(Supervisor& owner, channel::LogStream stream) : owner_(owner), stream_(stream) {}
    void attach(UniqueFd fd);
    void onEvent(uint32_t) override { drain(); }
    // Forwards everything readable now; closes the pipe at EOF.
    void drain();

   private:
    Supervisor& owner_;
    channel::LogStream stream_;
    UniqueFd fd_;
  };

  class SignalWatcher final : public EventHandler {
   public:
    explicit SignalWatcher(Supervisor& owner) : owner_(owner) {}
    void onEvent(uint32_t) override;
    UniqueFd fd;

   private:
    Supervisor& owner_;
  };

  // Reaps every exited child; handles the runtime's exit.
  void reapChildren();
  void onRuntimeExited(int wait_status);
  void onChannelClosed();
  void killRuntime();
  void finish(int exit_code) {
    done_ = true;
    exit_code_ = exit_code;
  }

  EventLoop& loop_;
  RuntimeApi api_;
  std::unique_ptr<ChannelLink> channel_;
  std::unique_ptr<HttpServer> server_;
  LogPipe stdout_{*this, channel::LogStream::kStdout};
  LogPipe stderr_{*this, channel::LogStream::kStderr};
  SignalWatcher signals_{*this};
  pid_t runtime_pid_ = -1;   // -1 once reaped
  pid_t runtime_pgid_ = -1;  // the runtime's process group; outlives the runtime itself
  bool done_ = false;
  int exit_code_ = 0;

  // Reused for every Log frame: the variant keeps the string's capacity between chunks.
  channel::Frame log_frame_{channel::Log{}};
  std::array<char, 32 * 1024> log_buffer_;
};

void Supervisor::LogPipe::attach(UniqueFd fd) {
  fd_ = std::move(fd);
  if (!owner_.loop_.add(fd_.get(), EPOLLIN, this)) fd_.reset();
}

void Supervisor::LogPipe::drain() {
  while (fd_.valid()) {
    // SAFETY: reads into the supervisor's log buffer, bounded by its size.
    const ssize_t n = ::read(fd_.get(), owner_.log_buffer_.data(), owner_.log_buffer_.size());
    if (n > 0) {
      auto& log = std::get<channel::Log>(owner_.log_frame_);
      log.stream = stream_;
      log.data.assign(owner_.log_buffer_.data(), static_cast<size_t>(n));
      owner_.channel_->send(owner_.log_frame_);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // EOF: the runtime and everything it started closed this stream.
    owner_.loop_.remove(fd_.get(), this);
    fd_.reset();
  }
}

void Supervisor::SignalWatcher::onEvent(uint32_t) {
  signalfd_siginfo info;
  // SAFETY: reads whole signalfd_siginfo records into a correctly sized struct; we only drain
  // them, since waitpid() below finds every exited child however many signals coalesced.
  while (::read(fd.get(), &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
  }
  owner_.reapChildren();
}

void Supervisor::drainLogs() {
  stdout_.drain();
  stderr_.drain();
}

void Supervisor::protocolViolation(std::string_view what) {
  diag("channel protocol violation: %.*s", static_cast<int>(what.size()), what.data());
  killRuntime();
  finish(1);
}

void Supervisor::reapChildren() {
  for (;;) {
    int status = 0;
    // SAFETY: reaps any exited child; as PID 1 (or a subreaper) orphans are ours to reap.
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;  // 0: none exited; -1 ECHILD: no children left
    if (pid == runtime_pid_) onRuntimeExited(status);
  }
}

void Supervisor::onRuntimeExited(int wait_status) {
  runtime_pid_ = -1;
  drainLogs();
  channel::Exit exit;
  if (WIFSIGNALED(wait_status)) {
    exit.kind = channel::ExitKind::kSignaled;
    exit.status = WTERMSIG(wait_status);
  } else {
    exit.kind = channel::ExitKind::kExited;
    exit.status = WEXITSTATUS(wait_status);
  }
  channel_->send(exit);
  finish(0);
}

void Supervisor::onChannelClosed() {
  killRuntime();
  finish(0);
}

void Supervisor::killRuntime() {
  if (runtime_pgid_ <= 0) return;
  // SAFETY: the runtime led its own process group (child_process.h); the group holds only it
  // and what it started, and stays ours while any member lives.
  ::kill(-runtime_pgid_, SIGKILL);
}

int Supervisor::run(std::span<char* const> runtime_argv) {
  auto sigfd = installInitSignals();
  if (!sigfd) {
    diag("%s", sigfd.error().toString().c_str());
    return 1;
  }
  signals_.fd = std::move(*sigfd);
  // SAFETY: plain prctl; as PID 1 it changes nothing, otherwise (tests) orphans of the runtime
  // are reparented to init and reaped here, as they would be in a sandbox.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  auto channel = ChannelLink::start(
      UniqueFd(kChannelFd), loop_,
      ChannelLink::Callbacks{
          [this](channel::Frame frame) {
            if (auto* invoke = std::get_if<channel::Invoke>(&frame)) {
              api_.onInvoke(std::move(*invoke));
            } else {
              protocolViolation("worker sent a frame that only init sends");
            }
          },
          [this] { onChannelClosed(); }});
  if (!channel) {
    diag("%s", channel.error().toString().c_str());
    return 1;
  }
  channel_ = std::move(*channel);

  const char* api_env = std::getenv("AWS_LAMBDA_RUNTIME_API");
  auto address = parseListenAddress(api_env != nullptr && *api_env != '\0'
                                        ? std::string_view(api_env)
                                        : kDefaultRuntimeApiAddress);
  if (!address) {
    diag("%s", address.error().toString().c_str());
    return 2;
  }
  auto server = HttpServer::start(*address, loop_, api_);
  if (!server) {
    diag("%s", server.error().toString().c_str());
    return 1;
  }
  server_ = std::move(*server);

  auto runtime = spawnRuntime(runtime_argv);
  if (!runtime) {
    // Lambda reports a bootstrap that cannot be executed as Runtime.InvalidEntrypoint.
    diag("%s", runtime.error().toString().c_str());
    channel_->send(channel::InitError{
        "Runtime.InvalidEntrypoint",
        std::string(R"({"errorMessage":"The runtime bootstrap could not be executed",)"
                    R"("errorType":"Runtime.InvalidEntrypoint"})")});
    channel_->send(channel::Exit{channel::ExitKind::kExited, kExecFailedExitCode});
    channel_->flushBlocking(kFinalFlushTimeoutMs);
    return 0;
  }
  runtime_pid_ = runtime->pid;
  runtime_pgid_ = runtime->pid;
  stdout_.attach(std::move(runtime->stdout_pipe));
  stderr_.attach(std::move(runtime->stderr_pipe));
  if (auto added = loop_.add(signals_.fd.get(), EPOLLIN, &signals_); !added) {
    diag("%s", added.error().toString().c_str());
    killRuntime();
    return 1;
  }
  // A runtime that exited before the signalfd was watched is found here.
  reapChildren();

  while (!done_) {
    if (auto r = loop_.runOnce(); !r) {
      diag("%s", r.error().toString().c_str());
      killRuntime();
      finish(1);
      break;
    }
    server_->sweep();
  }
  if (!channel_->flushBlocking(kFinalFlushTimeoutMs) && exit_code_ == 0 && runtime_pid_ < 0) {
    diag("the worker did not take the final frames");
  }
  // Whatever the runtime started must not outlive init (as PID 1 the kernel would see to it;
  // in a test it is this kill).
  killRuntime();
  return exit_code_;
}

}  // namespace

int runHearthInit(int argc, char** argv) {
  if (argc < 2) {
    diag("usage: hearth-init BOOTSTRAP [ARGS...]  (channel on fd 3, listens on "
         "$AWS_LAMBDA_RUNTIME_API)");
    return 2;
  }
  // Checked before init opens any fd of its own, which could otherwise take number 3.
  // SAFETY: fcntl F_GETFD only queries whether fd 3 is open.
  if (::fcntl(kChannelFd, F_GETFD) < 0) {
    diag("fd %d (the channel) is not open", kChannelFd);
    return 2;
  }
  // Fix glibc's mmap threshold (it otherwise grows after the first large free): payload-sized
  // buffers are then mmapped and go back to the kernel when freed, so an idle init stays small
  // after a 6 MB invoke.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  auto loop = EventLoop::create();
  if (!loop) {
    diag("%s", loop.error().toString().c_str());
    return 1;
  }
  Supervisor supervisor(*loop);
  // argv[argc] is nullptr, as execve requires of the runtime's argv.
  return supervisor.run(std::span<char* const>(argv + 1, static_cast<size_t>(argc)));
}

}  // namespace hearth::init
