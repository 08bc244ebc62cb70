// One runtime connection to the Runtime API: reads bytes from a non-blocking socket, parses
// requests with RequestParser (HTTP/1.1 keep-alive, chunked bodies, Expect: 100-continue),
// hands each complete request to RuntimeApi as an Exchange, and writes the responses.
//
// A connection processes one request at a time: while its request is unanswered (a parked
// GET /next) it reads but does not parse further bytes. Buffers (the fixed read buffer, the
// output string, the request strings) are reused across requests; only a body over
// kRetainBytes is given back after use, to keep idle RSS small.
//
// Ownership: owned by HttpServer, which destroys it in sweep() once closed() is true.
// Thread-safety: none.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "common/unique_fd.h"
#include "init/event_loop.h"
#include "init/request_parser.h"
#include "init/runtime_api.h"

namespace hearth::init {

class HttpConnection final : public EventHandler, public Exchange {
 public:
  // REQUIRES: fd is a connected, non-blocking stream socket; loop and api outlive this object.
  HttpConnection(UniqueFd fd, EventLoop& loop, RuntimeApi& api);
  ~HttpConnection() override;

  // Registers with the loop. On failure the connection is closed.
  void start();
  bool closed() const { return !fd_.valid(); }

  void onEvent(uint32_t events) override;

  // Exchange
  const RuntimeRequest& request() const override { return request_; }
  std::string takeBody() override;
  void respond(unsigned status, std::initializer_list<HeaderField> headers,
               std::string_view body) override;

 private:
  static constexpr size_t kReadBufferBytes = 32 * 1024;

  // Parses buffered input and dispatches complete requests until input runs out, a request is
  // left unanswered, or the connection closes.
  void processInput();
  // Reads what the socket has; false if the connection closed.
  bool readAvailable();
  // Writes buffered output; closes the connection on a write error or once a `Connection:
  // close` response is fully written.
  void flush();
  void updateInterest();
  void close();
  // Answers a malformed request and closes after writing.
  void fail(unsigned status);

  UniqueFd fd_;
  EventLoop& loop_;
  RuntimeApi& api_;

  std::array<char, kReadBufferBytes> in_;
  size_t in_begin_ = 0;  // first unparsed byte
  size_t in_end_ = 0;    // one past the last byte read
  std::optional<RequestParser> parser_;
  RuntimeRequest request_;
  bool awaiting_reply_ = false;  // request_ was handed to api_ and not yet answered
  bool continue_sent_ = false;   // "100 Continue" already written for the current request
  bool keep_alive_ = true;       // of the current request
  bool close_after_write_ = false;
  bool in_process_ = false;  // processInput() is on the stack
  bool want_out_ = false;    // EPOLLOUT currently in the interest set

  std::string out_;
  size_t out_sent_ = 0;
};

}  // namespace hearth::init
