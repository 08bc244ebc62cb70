// A minimal single-threaded epoll loop for hearth-init. Each registered fd has one EventHandler;
// the loop calls it with the ready event mask. No timers: hearth-init waits only on fds
// (sockets, pipes, a signalfd).
//
// Ownership: the loop does not own fds or handlers. A handler must stay alive until it is
// removed; handlers removed during a dispatch round are not called again in that round, so a
// handler may delete itself (or others) after calling remove().
// Thread-safety: none; one thread only.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <cstdint>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::init {

class EventHandler {
 public:
  virtual ~EventHandler() = default;
  // `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR, EPOLLRDHUP).
  virtual void onEvent(uint32_t events) = 0;
};

class EventLoop {
 public:
  static Result<EventLoop> create();

  // REQUIRES: fd is not yet registered.
  Result<void> add(int fd, uint32_t events, EventHandler* handler);
  // Changes the interest mask of a registered fd.
  Result<void> modify(int fd, uint32_t events, EventHandler* handler);
  // Unregisters fd; `handler` is not called again, even later in the current round.
  void remove(int fd, EventHandler* handler);

  // Waits for events and dispatches them; returns after one round. Interrupted waits return ok.
  Result<void> runOnce();

 private:
  explicit EventLoop(UniqueFd epoll) : epoll_(std::move(epoll)) {}

  static constexpr int kMaxEvents = 32;
  UniqueFd epoll_;
  std::array<epoll_event, kMaxEvents> events_{};
  int pending_ = 0;  // events_ entries not yet dispatched in the current round
};

}  // namespace hearth::init
