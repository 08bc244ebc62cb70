// hearth-init's end of the sandbox channel (fd 3, a connected stream socket): decodes frames
// from the worker and queues encoded frames to it without ever blocking the event loop.
//
// Frames are written in the order send() is called; that order is the protocol's ordering
// guarantee (Log frames before the Response they precede). The output buffer is reused; one
// that grew past kRetainBytes for a large payload is given back once drained.
// Ownership: owns the fd. Thread-safety: none.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "channel/frame.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "init/event_loop.h"

namespace hearth::init {

class ChannelLink final : public EventHandler {
 public:
  struct Callbacks {
    std::function<void(channel::Frame)> on_frame;
    // The worker closed the channel, or sent bytes that are not frames. Called once.
    std::function<void()> on_closed;
  };

  // Takes fd, makes it non-blocking and close-on-exec, registers it with the loop.
  // REQUIRES: loop outlives the link.
  static Result<std::unique_ptr<ChannelLink>> start(UniqueFd fd, EventLoop& loop,
                                                    Callbacks callbacks);

  void onEvent(uint32_t events) override;

  // Queues one frame and writes as much as the socket takes now.
  void send(const channel::Frame& frame);
  // Blocks until every queued byte is written or `timeout_ms` passes; for the last frames
  // before hearth-init exits. Returns false if bytes were left unwritten.
  bool flushBlocking(int timeout_ms);

 private:
  ChannelLink(UniqueFd fd, EventLoop& loop, Callbacks callbacks)
      : fd_(std::move(fd)), loop_(loop), callbacks_(std::move(callbacks)) {}

  void flush();
  void setWantOut(bool want);
  void fail();

  static constexpr size_t kReadBufferBytes = 64 * 1024;

  UniqueFd fd_;
  EventLoop& loop_;
  Callbacks callbacks_;
  channel::Decoder decoder_;
  std::string out_;
  size_t out_sent_ = 0;
  bool want_out_ = false;
  bool closed_ = false;
  std::array<char, kReadBufferBytes> in_;
};

}  // namespace hearth::init
