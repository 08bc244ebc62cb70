// Server and Client against each other (and against raw sockets where a test needs bytes the
// client would never send) on an ephemeral loopback port.
#include "http/server.h"

#include <chrono>
#include <exception>
#include <functional>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <gtest/gtest.h>

#include "http/client.h"

namespace hearth::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

Request makeRequest(bhttp::verb method, std::string target, std::string body = {}) {
  Request req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.body() = std::move(body);
  return req;
}

// Echoes the request: X-Method, X-Target, and the body.
awaitable<Response> echo(Request& req) {
  Response res{bhttp::status::ok, 11};
  res.set("X-Method", req.method_string());
  res.set("X-Target", req.target());
  res.body() = req.body();
  co_return res;
}

// A one-shot event for coroutines on one io_context: wait() completes once set() was called.
class Event {
 public:
  explicit Event(asio::io_context& io) : timer_(io, asio::steady_timer::time_point::max()) {}
  void set() {
    set_ = true;
    timer_.cancel();
  }
  bool isSet() const { return set_; }
  awaitable<void> wait() {
    while (!set_) co_await timer_.async_wait(kNoThrow);
  }

 private:
  asio::steady_timer timer_;
  bool set_ = false;
};

class ServerTest : public ::testing::Test {
 protected:
  void listen(Handler handler, ServerOptions options = {}) {
    Result<std::unique_ptr<Server>> server =
        Server::listen(io_, "127.0.0.1", 0, std::move(handler), std::move(options));
    ASSERT_TRUE(server.ok()) << server.error().toString();
    server_ = std::move(*server);
    ASSERT_NE(server_->port(), 0);
  }

  tcp::endpoint endpoint() const {
    return {asio::ip::make_address("127.0.0.1"), server_->port()};
  }

  // Runs `body` on the io_context, then stops and drains the server, and fails the test if that
  // does not all finish in time.
  void run(std::function<awaitable<void>()> body) {
    bool finished = false;
    std::exception_ptr failure;
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          co_await body();
          server_->stopAccepting();
          co_await server_->drain();
        },
        [&](std::exception_ptr e) {
          finished = true;
          failure = e;
        });
    io_.run_for(std::chrono::seconds(20));
    if (failure) std::rethrow_exception(failure);
    ASSERT_TRUE(finished) << "test did not finish";
    EXPECT_EQ(server_->connections(), 0u);
    EXPECT_EQ(server_->inFlight(), 0u);
  }

  // Reads from `s` until EOF; true if the peer closed cleanly (or reset) rather than sent data.
  static awaitable<bool> closedByPeer(tcp::socket& s) {
    char byte;
    auto [ec, n] = co_await s.async_read_some(asio::buffer(&byte, 1), kNoThrow);
    co_return n == 0 && (ec == asio::error::eof || ec == asio::error::connection_reset);
  }

  asio::io_context io_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, KeepAliveAcrossRequestsAndConnectionClose) {
  int calls = 0;
  listen([&](Request& req) -> awaitable<Response> {
    ++calls;
    if (req.target() == "/throw") throw std::runtime_error("handler bug");
    Response res = co_await echo(req);
    if (req.target() == "/close") res.keep_alive(false);
    co_return res;
  });
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    Result<void> connected = co_await client.connect("127.0.0.1", server_->port());
    EXPECT_TRUE(connected.ok());
    for (int i = 0; i < 3; ++i) {
      std::string body(static_cast<size_t>(i) * 1000, char('a' + i));
      Request req = makeRequest(bhttp::verb::post, "/echo/" + std::to_string(i) + "?x=1", body);
      Result<Response> res = co_await client.send(req);
      if (!res.ok()) {
        ADD_FAILURE() << res.error().toString();
        co_return;
      }
      EXPECT_EQ(res->result(), bhttp::status::ok);
      EXPECT_EQ(res->body(), body);
      EXPECT_EQ((*res)["X-Method"], "POST");
      EXPECT_EQ((*res)["X-Target"], "/echo/" + std::to_string(i) + "?x=1");
      EXPECT_EQ((*res)[bhttp::field::content_length], std::to_string(body.size()));
      EXPECT_TRUE(res->keep_alive());
      EXPECT_TRUE(client.isOpen());
      EXPECT_EQ(server_->connections(), 1u);  // every request on the same connection
    }

    // The client asks to close: the reply says so and the connection ends.
    Request last = makeRequest(bhttp::verb::get, "/bye");
    last.keep_alive(false);
    Result<Response> res = co_await client.send(last);
    EXPECT_TRUE(res.ok());
    EXPECT_FALSE(res.ok() && res->keep_alive());
    EXPECT_FALSE(client.isOpen());

    // The handler asks to close.
    EXPECT_TRUE((co_await client.connect("127.0.0.1", server_->port())).ok());
    Request closing = makeRequest(bhttp::verb::get, "/close");
    res = co_await client.send(closing);
    EXPECT_TRUE(res.ok() && res->result() == bhttp::status::ok && !res->keep_alive());
    EXPECT_FALSE(client.isOpen());

    // A handler that throws gets the client a 500 and a closed connection, not a dead server.
    EXPECT_TRUE((co_await client.connect("127.0.0.1", server_->port())).ok());
    Request bad = makeRequest(bhttp::verb::get, "/throw");
    res = co_await client.send(bad);
    EXPECT_TRUE(res.ok() && res->result() == bhttp::status::internal_server_error);
    EXPECT_FALSE(client.isOpen());
  });
  EXPECT_EQ(calls, 6);
}

TEST_F(ServerTest, BodyLimitGetsTooLargeReply) {
  int calls = 0;
  ServerOptions options;
  options.body_limit = 16;
  options.too_large = [](const Request& req) {
    Response res{bhttp::status::payload_too_large, 11};
    res.body() = "too large for " + std::string(req.target());
    return res;
  };
  listen(
      [&](Request& req) -> awaitable<Response> {
        ++calls;
        co_return co_await echo(req);
      },
      options);
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    EXPECT_TRUE((co_await client.connect("127.0.0.1", server_->port())).ok());
    Request fits = makeRequest(bhttp::verb::post, "/fits", std::string(16, 'x'));
    Result<Response> res = co_await client.send(fits);
    EXPECT_TRUE(res.ok() && res->result() == bhttp::status::ok && res->body().size() == 16);

    // Declared too large by Content-Length: refused without reading the body.
    Request big = makeRequest(bhttp::verb::post, "/big", std::string(17, 'x'));
    res = co_await client.send(big);
    EXPECT_TRUE(res.ok());
    if (res.ok()) {
      EXPECT_EQ(res->result(), bhttp::status::payload_too_large);
      EXPECT_EQ(res->body(), "too large for /big");
      EXPECT_FALSE(res->keep_alive());
    }
    EXPECT_FALSE(client.isOpen());

    // With Expect: 100-continue the refusal comes instead of the 100.
    tcp::socket s(io_);
    EXPECT_FALSE(std::get<0>(co_await s.async_connect(endpoint(), kNoThrow)));
    std::string head =
        "POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(head), kNoThrow);
    boost::beast::flat_buffer buffer;
    Response reply;
    auto [ec, n] = co_await bhttp::async_read(s, buffer, reply, kNoThrow);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(reply.result(), bhttp::status::payload_too_large);
    EXPECT_TRUE(co_await closedByPeer(s));

    // Chunked, so the size only shows while reading the body.
    tcp::socket chunked(io_);
    EXPECT_FALSE(std::get<0>(co_await chunked.async_connect(endpoint(), kNoThrow)));
    std::string request =
        "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n";
    co_await asio::async_write(chunked, asio::buffer(request), kNoThrow);
    buffer.clear();
    reply = {};
    std::tie(ec, n) = co_await bhttp::async_read(chunked, buffer, reply, kNoThrow);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(reply.body(), "too large for /chunked");
    EXPECT_TRUE(co_await closedByPeer(chunked));
  });
  EXPECT_EQ(calls, 1);
}

TEST_F(ServerTest, ExpectContinueSendsInterimResponseBeforeBody) {
  int calls = 0;
  listen([&](Request& req) -> awaitable<Response> {
    ++calls;
    co_return co_await echo(req);
  });
  run([&]() -> awaitable<void> {
    tcp::socket s(io_);
    EXPECT_FALSE(std::get<0>(co_await s.async_connect(endpoint(), kNoThrow)));
    std::string head =
        "PUT /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(head), kNoThrow);
    std::string interim;
    co_await asio::async_read_until(s, asio::dynamic_buffer(interim), "\r\n\r\n", kNoThrow);
    EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    EXPECT_EQ(calls, 0);

    co_await asio::async_write(s, asio::buffer(std::string_view("hello")), kNoThrow);
    boost::beast::flat_buffer buffer;
    Response res;
    auto [ec, n] = co_await bhttp::async_read(s, buffer, res, kNoThrow);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result(), bhttp::status::ok);
    EXPECT_EQ(res.body(), "hello");
    EXPECT_EQ(calls, 1);

    // The connection stays usable, and garbage gets a 400 and a close.
    std::string garbage = "NOT HTTP AT ALL\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(garbage), kNoThrow);
    res = {};
    std::tie(ec, n) = co_await bhttp::async_read(s, buffer, res, kNoThrow);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result(), bhttp::status::bad_request);
    EXPECT_TRUE(co_await closedByPeer(s));
  });
}

TEST_F(ServerTest, DrainWaitsForInFlightHandlerAndClosesIdleConnections) {
  Event slow_started(io_);
  Event gate(io_);
  listen([&](Request& req) -> awaitable<Response> {
    if (req.target() == "/slow") {
      slow_started.set();
      co_await gate.wait();
    }
    co_return co_await echo(req);
  });
  run([&]() -> awaitable<void> {
    // An idle keep-alive connection that has served one request.
    tcp::socket idle(io_);
    EXPECT_FALSE(std::get<0>(co_await idle.async_connect(endpoint(), kNoThrow)));
    std::string get = "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n";
    co_await asio::async_write(idle, asio::buffer(get), kNoThrow);
    boost::beast::flat_buffer buffer;
    Response fast;
    co_await bhttp::async_read(idle, buffer, fast, kNoThrow);
    EXPECT_EQ(fast.result(), bhttp::status::ok);

    // A connection whose request is inside the slow handler.
    Client slow(io_.get_executor());
    EXPECT_TRUE((co_await slow.connect("127.0.0.1", server_->port())).ok());
    Result<Response> slow_result = makeError(ErrorCode::kInternal, "not answered");
    Event slow_answered(io_);
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          Request req = makeRequest(bhttp::verb::get, "/slow");
          slow_result = co_await slow.send(req);
          slow_answered.set();
        },
        asio::detached);
    co_await slow_started.wait();
    EXPECT_EQ(server_->inFlight(), 1u);
    EXPECT_EQ(server_->connections(), 2u);

    server_->stopAccepting();
    Event drained(io_);
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          co_await server_->drain();
          drained.set();
        },
        asio::detached);

    // The idle connection is closed at once; the in-flight request holds the drain.
    EXPECT_TRUE(co_await closedByPeer(idle));
    EXPECT_FALSE(drained.isSet());
    EXPECT_FALSE(slow_answered.isSet());
    EXPECT_EQ(server_->inFlight(), 1u);

    gate.set();
    co_await drained.wait();
    co_await slow_answered.wait();
    EXPECT_TRUE(slow_result.ok());
    if (slow_result.ok()) {
      EXPECT_EQ(slow_result->result(), bhttp::status::ok);
      EXPECT_FALSE(slow_result->keep_alive());  // answered with Connection: close
    }
    EXPECT_EQ(server_->connections(), 0u);
  });
}

TEST_F(ServerTest, IdleTimeoutClosesIdleConnectionsButNotSlowHandlers) {
  ServerOptions options;
  options.idle_timeout = std::chrono::seconds(1);
  listen(
      [&](Request& req) -> awaitable<Response> {
        if (req.target() == "/slow") {
          asio::steady_timer work(io_, std::chrono::milliseconds(1500));
          co_await work.async_wait(kNoThrow);
        }
        co_return co_await echo(req);
      },
      options);
  run([&]() -> awaitable<void> {
    auto start = std::chrono::steady_clock::now();
    tcp::socket idle(io_);
    EXPECT_FALSE(std::get<0>(co_await idle.async_connect(endpoint(), kNoThrow)));

    // A handler running longer than the idle timeout still gets its answer through.
    Client client(io_.get_executor());
    EXPECT_TRUE((co_await client.connect("127.0.0.1", server_->port())).ok());
    Request req = makeRequest(bhttp::verb::get, "/slow");
    Result<Response> res = co_await client.send(req);
    EXPECT_TRUE(res.ok() && res->result() == bhttp::status::ok);

    // Meanwhile the connection that never sent anything was closed.
    EXPECT_TRUE(co_await closedByPeer(idle));
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, std::chrono::seconds(1));
    EXPECT_LT(elapsed, std::chrono::seconds(5));
  });
}

}  // namespace
}  // namespace hearth::http
