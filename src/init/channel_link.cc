// See channel_link.h.
#include "init/channel_link.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>

#include "init/buffers.h"

namespace hearth::init {

Result<std::unique_ptr<ChannelLink>> ChannelLink::start(UniqueFd fd, EventLoop& loop,
                                                        Callbacks callbacks) {
  // SAFETY: fcntl on an fd we own; flags are read and written back with one bit added.
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return errnoError("channel fd: set O_NONBLOCK", errno);
  }
  // SAFETY: as above; the runtime must not inherit the channel.
  if (::fcntl(fd.get(), F_SETFD, FD_CLOEXEC) != 0)
    return errnoError("channel fd: set CLOEXEC", errno);
  std::unique_ptr<ChannelLink> link(new ChannelLink(std::move(fd), loop, std::move(callbacks)));
  HEARTH_TRY(loop.add(link->fd_.get(), EPOLLIN | EPOLLRDHUP, link.get()));
  return link;
}

void ChannelLink::onEvent(uint32_t events) {
  if (closed_) return;
  if (events & EPOLLOUT) flush();
  if (closed_ || !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
  for (;;) {
    // SAFETY: reads into in_, bounded by its size.
    const ssize_t n = ::read(fd_.get(), in_.data(), in_.size());
    if (n > 0) {
      decoder_.feed(std::string_view(in_.data(), static_cast<size_t>(n)));
      while (auto frame = decoder_.next()) {
        callbacks_.on_frame(std::move(*frame));
        if (closed_) return;
      }
      if (decoder_.failed()) {
        fail();
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    fail();  // EOF or error: the worker is gone
    return;
  }
}

void ChannelLink::send(const channel::Frame& frame) {
  if (closed_) return;
  channel::encode(frame, out_);
  flush();
}

void ChannelLink::flush() {
  while (out_sent_ < out_.size()) {
    // SAFETY: sends bytes within out_; MSG_NOSIGNAL: a gone worker is EPIPE, not SIGPIPE.
    const ssize_t n =
        ::send(fd_.get(), out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      setWantOut(true);
      return;
    }
    fail();
    return;
  }
  out_sent_ = 0;
  recycle(out_);
  setWantOut(false);
}

bool ChannelLink::flushBlocking(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!closed_ && out_sent_ < out_.size()) {
    flush();
    if (closed_ || out_sent_ >= out_.size()) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_.get(), POLLOUT, 0};
    // SAFETY: one valid pollfd.
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  return !closed_ && out_.empty();
}

void ChannelLink::setWantOut(bool want) {
  if (want == want_out_) return;
  want_out_ = want;
  const uint32_t events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
  if (!loop_.modify(fd_.get(), events, this)) fail();
}

void ChannelLink::fail() {
  if (closed_) return;
  closed_ = true;
  loop_.remove(fd_.get(), this);
  callbacks_.on_closed();
}

}  // namespace hearth::init
