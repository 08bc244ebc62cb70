// The HTTP/1.1 server every Hearth endpoint runs on (the Lambda API, the Runtime API, the VMM's
// control API): Boost.Beast over Asio C++20 coroutines, one request at a time per connection,
// keep-alive, `Expect: 100-continue`, a body size limit, an idle timeout and graceful drain.
//
// Threading: a Server and everything it starts run on the io_context given to listen(), and that
// io_context must be run by exactly ONE thread. Hearth's data plane is single-threaded by design;
// a handler that must block (disk, fork) posts that work to a thread pool and co_awaits the
// result, so the event loop never stalls. Call every member function from that thread (or
// before/after it runs).
//
// Ownership: the Server owns its listening socket and its connections. Destroying it closes all
// of them; coroutines still suspended finish (with an error) the next time the io_context runs,
// or are destroyed with it. Handlers never outlive the io_context.
//
// Contract with handlers: the server reads one complete request (body included, at most
// ServerOptions::body_limit bytes), co_awaits the handler, writes the Response it returns, and
// only then reads the next request on that connection. The server sets the response's HTTP
// version, `Connection` header and `Content-Length` (prepare_payload); a handler that wants the
// connection closed after its reply sets `Connection: close` (res.keep_alive(false)). Handlers
// must not throw; if one does anyway, the client gets a 500 and the connection is closed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "common/result.h"
#include "http/message.h"

namespace hearth::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

struct ServerOptions {
  // Largest request body accepted. A request declaring (or sending) more gets too_large's reply
  // and the connection is closed, since the rest of the body is never read.
  uint64_t body_limit = 70 * 1024 * 1024;
  // A connection is closed when its client neither completes a request nor reads our response
  // within this time. Time spent inside the handler does not count.
  std::chrono::seconds idle_timeout{60};
  // Builds the reply for a body over body_limit. It sees the request line and headers (the body
  // is empty). Unset: a bare 413 Payload Too Large.
  std::function<Response(const Request&)> too_large;
};

class Server {
 public:
  // Binds host:port (port 0 picks a free one; host is an IP address or a resolvable name) and
  // starts accepting on `io`. Fails with kIo when the address cannot be resolved or bound.
  static Result<std::unique_ptr<Server>> listen(boost::asio::io_context& io,
                                                const std::string& host, uint16_t port,
                                                Handler handler, ServerOptions options);

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the one chosen when listen() was given 0).
  uint16_t port() const;

  // Closes the listening socket. Existing connections keep being served. Idempotent.
  void stopAccepting();

  // Completes when no request is being handled and every connection is closed. From the moment
  // it is called, idle keep-alive connections are closed, and each connection with a request in
  // progress is closed right after that request's response (sent with `Connection: close`).
  // Call stopAccepting() first, or new connections keep it waiting.
  boost::asio::awaitable<void> drain();

  // Requests read completely whose response has not been fully written yet.
  size_t inFlight() const;

  // Open connections.
  size_t connections() const;

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace hearth::http
