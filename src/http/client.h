// A minimal HTTP/1.1 client over one keep-alive TCP connection, for the load generator, for
// tests that drive hearthd and for pulling images (codestore/oci): connect once, then send
// requests one at a time and read each reply.
//
// Errors are Results with code kIo; nothing throws. After an error, or after the server answers
// `Connection: close`, the connection is closed (isOpen() turns false) and connect() may be
// called again. Interim 1xx responses are skipped.
//
// Threading: not thread-safe; use one Client from one coroutine at a time, on the executor it was
// made with. Requests are not pipelined.
#pragma once

#include <cstdint>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "common/result.h"
#include "http/message.h"

namespace hearth::http {

class Client {
 public:
  // `body_limit` caps the response body; a larger one fails the request.
  explicit Client(boost::asio::any_io_executor executor, uint64_t body_limit = 70 * 1024 * 1024);

  // Resolves host (a name or address) and connects, closing any previous connection. Sets
  // TCP_NODELAY.
  boost::asio::awaitable<Result<void>> connect(std::string host, uint16_t port);

  // Sends `req` and reads the response. Sets Content-Length (prepare_payload) on `req`; the
  // caller sets Host and everything else. REQUIRES: isOpen().
  boost::asio::awaitable<Result<Response>> send(Request& req);

  // Changes the cap on response bodies for the requests sent from now on.
  void setBodyLimit(uint64_t body_limit) { body_limit_ = body_limit; }

  bool isOpen() const { return socket_.is_open(); }
  void close();

 private:
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;  // reused across responses
  uint64_t body_limit_;
};

}  // namespace hearth::http
