#include "http/server.h"

#include <algorithm>
#include <exception>
#include <list>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>

#include "common/log.h"

namespace hearth::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Every asynchronous operation reports failure as an error_code in a tuple; nothing throws.
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Header block limit. AWS clients send well under 4 KiB; X-Amz-Client-Context alone may be 3.5 KiB.
constexpr uint32_t kHeaderLimit = 16 * 1024;
// Size of the read that waits for the first bytes of a request.
constexpr size_t kFirstReadSize = 4096;
// How long a connection we are closing with unread input (an oversized upload) stays open so the
// client can read our reply before the kernel answers its remaining bytes with a reset.
constexpr std::chrono::seconds kLingerTime{2};
// Back-off after an accept error such as EMFILE, so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptBackoff{50};

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

void logException(std::exception_ptr e, const char* where) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    LOG_ERROR("http server: {} ended with an exception: {}", where, ex.what());
  } catch (...) {
    LOG_ERROR("http server: {} ended with an unknown exception", where);
  }
}

bool isParseError(const boost::system::error_code& ec) {
  static const boost::system::error_category& kHttpCategory =
      bhttp::make_error_code(bhttp::error::end_of_stream).category();
  return ec.category() == kHttpCategory && ec != bhttp::error::end_of_stream &&
         ec != bhttp::error::partial_message;
}

Response plainResponse(bhttp::status status, unsigned version) {
  Response res{status, version};
  res.set(bhttp::field::content_type, "text/plain");
  res.body() = std::string(bhttp::obsolete_reason(status)) + "\n";
  return res;
}

enum class ConnState {
  kIdle,      // waiting for the first byte of the next request
  kReading,   // reading a request
  kHandling,  // the handler is running
  kWriting,   // writing the response
};

struct Connection;

}  // namespace

struct Server::Impl {
  Impl(asio::io_context& io_context, Handler h, ServerOptions o)
      : io(io_context),
        acceptor(io_context),
        handler(std::move(h)),
        options(std::move(o)),
        drained(io_context) {}

  // Wakes drain() waiters once nothing is left.
  void notifyIfDrained() {
    if (draining && connections.empty() && in_flight == 0) drained.cancel();
  }

  void closeAll();

  asio::io_context& io;
  tcp::acceptor acceptor;
  uint16_t port = 0;
  Handler handler;
  ServerOptions options;
  bool draining = false;
  size_t in_flight = 0;
  // Invariant: holds every live Connection; each adds itself on construction and removes itself
  // on destruction.
  std::list<Connection*> connections;
  // Used as an event: drain() waits on it, notifyIfDrained() cancels it.
  asio::steady_timer drained;
};

namespace {

// One accepted TCP connection. Shared by its serve() and watch() coroutines.
struct Connection {
  Connection(std::shared_ptr<Server::Impl> s, tcp::socket sock)
      : server(std::move(s)), socket(std::move(sock)), watchdog(socket.get_executor()) {
    pos = server->connections.insert(server->connections.end(), this);
  }
  ~Connection() {
    server->connections.erase(pos);
    server->notifyIfDrained();
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Moves the idle deadline; wakes the watchdog early if the new deadline is sooner.
  void setDeadline(Clock::time_point t) {
    deadline = t;
    if (t < watchdog.expiry()) watchdog.expires_at(t);
  }

  void close() {
    boost::system::error_code ignored;
    socket.close(ignored);
    watchdog.cancel();
  }

  std::shared_ptr<Server::Impl> server;
  tcp::socket socket;
  asio::steady_timer watchdog;
  Clock::time_point deadline;
  ConnState state = ConnState::kIdle;
  std::list<Connection*>::iterator pos;
};

// Closes the connection once its deadline passes while it is not inside the handler.
asio::awaitable<void> watch(std::shared_ptr<Connection> c) {
  c->watchdog.expires_at(c->deadline);
  while (c->socket.is_open()) {
    auto [ec] = co_await c->watchdog.async_wait(kNoThrow);
    if (!c->socket.is_open()) co_return;
    if (ec == asio::error::operation_aborted) continue;  // setDeadline() moved the expiry
    Clock::time_point now = Clock::now();
    if (c->state != ConnState::kHandling && now >= c->deadline) {
      c->close();
      co_return;
    }
    c->watchdog.expires_at(c->state == ConnState::kHandling
                               ? now + c->server->options.idle_timeout
                               : c->deadline);
  }
}

// Writes `res` (version, Connection and Content-Length set here). False if the write failed.
asio::awaitable<bool> writeResponse(Connection& c, Response& res, unsigned version,
                                    bool keep_alive) {
  c.state = ConnState::kWriting;
  c.setDeadline(Clock::now() + c.server->options.idle_timeout);
  res.version(version);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  auto [ec, n] = co_await bhttp::async_write(c.socket, res, kNoThrow);
  co_return !ec;
}

// Ends a connection whose peer may still be sending (an oversized body): stop sending, then
// discard input until the peer closes or kLingerTime passes, so our reply is not lost to a reset.
asio::awaitable<void> lingeringClose(Connection& c, beast::flat_buffer& buffer) {
  boost::system::error_code ec;
  c.socket.shutdown(tcp::socket::shutdown_send, ec);
  c.state = ConnState::kReading;
  c.setDeadline(Clock::now() + std::min<Clock::duration>(kLingerTime,
                                                         c.server->options.idle_timeout));
  while (!ec) {
    buffer.clear();
    auto [read_ec, n] = co_await c.socket.async_read_some(buffer.prepare(64 * 1024), kNoThrow);
    ec = read_ec;
  }
}

asio::awaitable<void> serve(std::shared_ptr<Connection> c) {
  Server::Impl& s = *c->server;
  beast::flat_buffer buffer;  // reused for every request on this connection
  bool linger = false;
  for (;;) {
    // Idle until the next request's first bytes. drain() closes connections in this state.
    if (buffer.size() == 0) {
      c->state = ConnState::kIdle;
      if (s.draining) break;
      auto [ec, n] = co_await c->socket.async_read_some(buffer.prepare(kFirstReadSize), kNoThrow);
      if (ec) break;
      buffer.commit(n);
    }
    c->state = ConnState::kReading;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(boost::none);  // checked against Content-Length below, then set
    {
      auto [ec, n] = co_await bhttp::async_read_header(c->socket, buffer, parser, kNoThrow);
      if (ec) {
        if (isParseError(ec)) {
          Response res = plainResponse(ec == bhttp::error::header_limit
                                           ? bhttp::status::request_header_fields_too_large
                                           : bhttp::status::bad_request,
                                       11);
          co_await writeResponse(*c, res, 11, false);
          linger = true;
        }
        break;
      }
    }

    const Request& header = parser.get();
    const unsigned version = header.version();
    boost::optional<uint64_t> length = parser.content_length();
    bool too_large = length && *length > s.options.body_limit;
    if (!too_large && !parser.is_done()) {
      parser.body_limit(s.options.body_limit);
      if (version >= 11 &&
          bhttp::token_list{header[bhttp::field::expect]}.exists("100-continue")) {
        auto [ec, n] = co_await asio::async_write(
            c->socket, asio::buffer(kContinue.data(), kContinue.size()), kNoThrow);
        if (ec) break;
      }
      auto [ec, n] = co_await bhttp::async_read(c->socket, buffer, parser, kNoThrow);
      if (ec == bhttp::error::body_limit) {
        too_large = true;
      } else if (ec) {
        if (isParseError(ec)) {
          Response res = plainResponse(bhttp::status::bad_request, version);
          co_await writeResponse(*c, res, version, false);
          linger = true;
        }
        break;
      }
    }
    if (too_large) {
      Response res = s.options.too_large
                         ? s.options.too_large(parser.get())
                         : plainResponse(bhttp::status::payload_too_large, version);
      co_await writeResponse(*c, res, version, false);
      linger = true;
      break;
    }

    Request req = parser.release();
    ++s.in_flight;
    c->state = ConnState::kHandling;
    Response res;
    bool handler_failed = false;
    try {
      res = co_await s.handler(req);
    } catch (const std::exception& e) {
      LOG_ERROR("http server: handler for {} {} threw: {}", std::string(req.method_string()),
                std::string(req.target()), e.what());
      handler_failed = true;
    } catch (...) {
      LOG_ERROR("http server: handler for {} {} threw", std::string(req.method_string()),
                std::string(req.target()));
      handler_failed = true;
    }
    if (handler_failed) res = plainResponse(bhttp::status::internal_server_error, version);
    bool keep_alive = !handler_failed && req.keep_alive() && !s.draining &&
                      !bhttp::token_list{res[bhttp::field::connection]}.exists("close");
    bool written = co_await writeResponse(*c, res, version, keep_alive);
    --s.in_flight;
    if (!written || !keep_alive) break;
  }
  if (linger && c->socket.is_open()) co_await lingeringClose(*c, buffer);
  c->close();
}

asio::awaitable<void> acceptLoop(std::shared_ptr<Server::Impl> s) {
  for (;;) {
    auto [ec, socket] = co_await s->acceptor.async_accept(kNoThrow);
    if (!s->acceptor.is_open()) co_return;
    if (ec) {
      LOG_WARN("http server: accept failed: {}", ec.message());
      asio::steady_timer backoff(s->io, kAcceptBackoff);
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto c = std::make_shared<Connection>(s, std::move(socket));
    c->deadline = Clock::now() + s->options.idle_timeout;
    asio::co_spawn(s->io, watch(c), [](std::exception_ptr e) { logException(e, "watchdog"); });
    asio::co_spawn(s->io, serve(std::move(c)),
                   [](std::exception_ptr e) { logException(e, "connection"); });
  }
}

}  // namespace

void Server::Impl::closeAll() {
  boost::system::error_code ignored;
  acceptor.close(ignored);
  for (Connection* c : connections) c->close();
}

Result<std::unique_ptr<Server>> Server::listen(asio::io_context& io, const std::string& host,
                                               uint16_t port, Handler handler,
                                               ServerOptions options) {
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return makeError(ErrorCode::kIo, "cannot resolve listen address " + host + ": " +
                                         (ec ? ec.message() : "no addresses"));
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();

  auto impl = std::make_shared<Impl>(io, std::move(handler), std::move(options));
  tcp::acceptor& acceptor = impl->acceptor;
  auto fail = [&](const char* what) {
    return makeError(ErrorCode::kIo, std::string("http server: ") + what + " " +
                                         endpoint.address().to_string() + ":" +
                                         std::to_string(port) + ": " + ec.message());
  };
  if (acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec)) return fail("setsockopt");
  if (acceptor.bind(endpoint, ec)) return fail("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
  tcp::endpoint local = acceptor.local_endpoint(ec);
  if (ec) return fail("getsockname");
  impl->port = local.port();

  asio::co_spawn(io, acceptLoop(impl), [](std::exception_ptr e) { logException(e, "accept"); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { impl_->closeAll(); }

uint16_t Server::port() const { return impl_->port; }

void Server::stopAccepting() {
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

asio::awaitable<void> Server::drain() {
  std::shared_ptr<Impl> s = impl_;  // the Server may be destroyed while we wait
  s->draining = true;
  for (Connection* c : s->connections) {
    if (c->state == ConnState::kIdle) c->close();
  }
  while (!s->connections.empty() || s->in_flight > 0) {
    s->drained.expires_at(asio::steady_timer::time_point::max());
    co_await s->drained.async_wait(kNoThrow);
  }
}

size_t Server::inFlight() const { return impl_->in_flight; }

size_t Server::connections() const { return impl_->connections.size(); }

}  // namespace hearth::http
