// epoll wrapper; see event_loop.h for the contract.
#include "init/event_loop.h"

#include <cerrno>

namespace hearth::init {

Result<EventLoop> EventLoop::create() {
  // SAFETY: plain syscall; the fd is owned by the returned UniqueFd.
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return errnoError("epoll_create1", errno);
  return EventLoop(UniqueFd(fd));
}

Result<void> EventLoop::add(int fd, uint32_t events, EventHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  // SAFETY: ev is a valid epoll_event; handler outlives its registration (contract in the header).
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return errnoError("epoll_ctl ADD", errno);
  return {};
}

Result<void> EventLoop::modify(int fd, uint32_t events, EventHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  // SAFETY: as in add().
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) return errnoError("epoll_ctl MOD", errno);
  return {};
}

void EventLoop::remove(int fd, EventHandler* handler) {
  // SAFETY: removing an fd we registered; failure (already closed) leaves nothing to undo.
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  // Events already fetched for this handler in the current round must not be delivered: the
  // handler may be destroyed right after this call.
  for (int i = 0; i < pending_; ++i) {
    if (events_[i].data.ptr == handler) events_[i].data.ptr = nullptr;
  }
}

Result<void> EventLoop::runOnce() {
  // SAFETY: events_ has room for kMaxEvents entries.
  const int n = ::epoll_wait(epoll_.get(), events_.data(), kMaxEvents, -1);
  if (n < 0) {
    if (errno == EINTR) return {};
    return errnoError("epoll_wait", errno);
  }
  pending_ = n;
  for (int i = 0; i < n; ++i) {
    auto* handler = static_cast<EventHandler*>(events_[i].data.ptr);
    // SAFETY: data.ptr was set from a live EventHandler* in add()/modify(), or nulled by remove().
    if (handler != nullptr) handler->onEvent(events_[i].events);
  }
  pending_ = 0;
  return {};
}

}  // namespace hearth::init
