// Client against a real redis-server (skipped without one) and against a scripted fake server
// that is silent, sends garbage, or sends hostile replies.
#include "eventsources/redis/redis_client.h"

#include <chrono>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include "eventsources/redis/testing/redis_server.h"

namespace hearth::eventsources::redis {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::awaitable;
using std::chrono::milliseconds;
using testing::argv;
using testing::FakeServer;
using testing::RedisServer;
using Kind = Reply::Kind;

constexpr milliseconds kTimeout{5000};

Reply status(std::string s) {
  Reply r;
  r.kind = Kind::kStatus;
  r.str = std::move(s);
  return r;
}
Reply bulk(std::string s) {
  Reply r;
  r.kind = Kind::kString;
  r.str = std::move(s);
  return r;
}
Reply integer(int64_t v) {
  Reply r;
  r.kind = Kind::kInteger;
  r.integer = v;
  return r;
}

// The reply, or a failure and a nil reply.
Reply ok(Result<Reply> r) {
  if (!r) {
    ADD_FAILURE() << r.error().toString();
    return Reply{};
  }
  return std::move(r).value();
}

class ClientTest : public ::testing::Test {
 protected:
  void run(std::function<awaitable<void>()> body) {
    ASSERT_TRUE(testing::runCoroutine(io_, std::move(body))) << "test did not finish";
  }

  asio::io_context io_;
};

// With a real server on 127.0.0.1.
class RealServerTest : public ClientTest {
 protected:
  void SetUp() override {
    if (std::optional<std::string> why = RedisServer::unavailable()) GTEST_SKIP() << *why;
    Result<std::unique_ptr<RedisServer>> server = RedisServer::start();
    ASSERT_TRUE(server.ok()) << server.error().toString();
    server_ = std::move(*server);
  }

  awaitable<void> connect(Client& client, std::string host = "127.0.0.1") {
    Result<void> connected = co_await client.connect(host, server_->port(), kTimeout);
    EXPECT_TRUE(connected.ok()) << connected.error().toString();
    EXPECT_TRUE(client.isOpen());
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(RealServerTest, CommandsAndReplyKinds) {
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    co_await connect(client);
    CO_EXPECT_EQ(ok(co_await client.command(argv("PING"), kTimeout)), status("PONG"));

    // Binary-safe keys and values, and a value spanning many reads.
    const std::string key("k\0\r\n\xff", 5);
    const std::string small("a\0b\r\n$-1\r\n", 11);
    std::string big(3 << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
    CO_EXPECT_EQ(ok(co_await client.command(argv("SET", key, small), kTimeout)), status("OK"));
    CO_EXPECT_EQ(ok(co_await client.command(argv("GET", key), kTimeout)), bulk(small));
    CO_EXPECT_EQ(ok(co_await client.command(argv("SET", key, big), kTimeout)), status("OK"));
    CO_EXPECT_EQ(ok(co_await client.command(argv("GET", key), kTimeout)), bulk(big));
    CO_EXPECT_EQ(ok(co_await client.command(argv("SET", "empty", ""), kTimeout)), status("OK"));
    CO_EXPECT_EQ(ok(co_await client.command(argv("GET", "empty"), kTimeout)), bulk(""));

    CO_EXPECT_EQ(ok(co_await client.command(argv("GET", "missing"), kTimeout)), Reply{});
    CO_EXPECT_EQ(ok(co_await client.command(argv("INCRBY", "n", "-5"), kTimeout)), integer(-5));
    CO_EXPECT_EQ(
        ok(co_await client.command(argv("RPUSH", "list", "x", std::string(1, '\0')), kTimeout)),
        integer(2));
    Reply list = ok(co_await client.command(argv("LRANGE", "list", "0", "-1"), kTimeout));
    EXPECT_EQ(list.kind, Kind::kArray);
    EXPECT_EQ(list.elements, (std::vector<Reply>{bulk("x"), bulk(std::string(1, '\0'))}));
    Reply nested =
        ok(co_await client.command(argv("EVAL", "return {1, {2, {'x'}}, 'y'}", "0"), kTimeout));
    EXPECT_EQ(nested.elements.size(), 3u);
    EXPECT_EQ(nested.describe(), "array of 3");

    // An error reply is a reply; the connection stays usable.
    Reply error = ok(co_await client.command(argv("NOSUCHCOMMAND", "x"), kTimeout));
    EXPECT_EQ(error.kind, Kind::kError);
    EXPECT_TRUE(error.str.starts_with("ERR unknown command")) << error.str;
    Reply wrongtype = ok(co_await client.command(argv("LPUSH", key, "x"), kTimeout));
    EXPECT_EQ(wrongtype.kind, Kind::kError);
    EXPECT_TRUE(wrongtype.str.starts_with("WRONGTYPE")) << wrongtype.str;
    EXPECT_TRUE(client.isOpen());
    CO_EXPECT_EQ(ok(co_await client.command(argv("PING"), kTimeout)), status("PONG"));
  });
}

TEST_F(RealServerTest, ConnectsByNameAndReconnects) {
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    co_await connect(client, "localhost");
    CO_EXPECT_EQ(ok(co_await client.command(argv("PING"), kTimeout)), status("PONG"));
    client.close();
    EXPECT_FALSE(client.isOpen());
    // A closed client (a poller stopped between two commands) fails; it does not abort.
    Result<Reply> closed = co_await client.command(argv("PING"), kTimeout);
    CO_EXPECT_EQ(closed.ok(), false);
    co_await connect(client);
    CO_EXPECT_EQ(ok(co_await client.command(argv("PING"), kTimeout)), status("PONG"));
  });
}

TEST_F(RealServerTest, ServerGoneMidCommand) {
  run([&]() -> awaitable<void> {
    Client blocked(io_.get_executor());
    Client observer(io_.get_executor());
    co_await connect(blocked);
    co_await connect(observer);
    const auto start = std::chrono::steady_clock::now();
    auto block = [&]() -> awaitable<Result<Reply>> {
      co_return co_await blocked.command(argv("BLPOP", "never", "30"), milliseconds(40'000));
    };
    auto kill = [&]() -> awaitable<void> {
      Result<void> waited = co_await testing::awaitBlockedClients(observer, 1);
      EXPECT_TRUE(waited.ok()) << waited.error().toString();
      server_->stop();
    };
    Result<Reply> reply = co_await (block() && kill());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
    EXPECT_FALSE(reply.ok());
    if (!reply.ok()) {
      EXPECT_EQ(reply.error().code, ErrorCode::kIo);
    }
    EXPECT_FALSE(blocked.isOpen());

    Result<void> again = co_await blocked.connect("127.0.0.1", server_->port(), kTimeout);
    EXPECT_FALSE(again.ok());
    EXPECT_FALSE(blocked.isOpen());
  });
}

TEST_F(ClientTest, ConnectRefused) {
  uint16_t port = 0;
  {
    // A port that was free a moment ago, and has no listener.
    asio::ip::tcp::acceptor probe(io_, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    Result<void> connected = co_await client.connect("127.0.0.1", port, kTimeout);
    if (connected.ok()) {
      ADD_FAILURE() << "connected to a port without listener";
      co_return;
    }
    EXPECT_EQ(connected.error().code, ErrorCode::kIo);
    EXPECT_NE(connected.error().message.find("connect 127.0.0.1:" + std::to_string(port)),
              std::string::npos)
        << connected.error().message;
    EXPECT_FALSE(client.isOpen());
  });
}

TEST_F(ClientTest, SilentServerTimesOutAndReconnectStartsAfresh) {
  // One server never answers, one sends half a reply and then nothing; the last answers.
  FakeServer silent(io_, {});
  FakeServer half(io_, {"$5\r\nab"});
  FakeServer answering(io_, {"+OK\r\n"});
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    for (FakeServer* server : {&silent, &half}) {
      CO_EXPECT_TRUE((co_await client.connect("127.0.0.1", server->port(), kTimeout)).ok());
      const auto start = std::chrono::steady_clock::now();
      Result<Reply> reply = co_await client.command(argv("GET", "k"), milliseconds(100));
      EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(100));
      if (reply.ok()) {
        ADD_FAILURE() << "a reply from a silent server: " << reply->describe();
        co_return;
      }
      EXPECT_EQ(reply.error().code, ErrorCode::kIo);
      EXPECT_EQ(reply.error().message, "redis: GET: no reply within 100 ms");
      EXPECT_FALSE(client.isOpen());
      EXPECT_EQ(server->requests(), (std::vector<std::vector<std::string>>{{"GET", "k"}}));
    }

    // The half reply from before is gone with the connection.
    CO_EXPECT_TRUE((co_await client.connect("127.0.0.1", answering.port(), kTimeout)).ok());
    CO_EXPECT_EQ(ok(co_await client.command(argv("PING"), kTimeout)), status("OK"));
  });
}

TEST_F(ClientTest, HostileRepliesFailAndClose) {
  struct Case {
    std::string reply;
    std::string error;  // a part of the message
  };
  std::string deep;
  for (int i = 0; i < 9; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  std::string many_values = "*1000000\r\n";
  for (int i = 0; i < 100; ++i) many_values += ":1\r\n";
  const std::vector<Case> cases = {
      {"!garbage\r\n", "bad reply: Protocol error"},
      {"hello\r\n", "bad reply: Protocol error"},
      {deep, "bad reply: No support for nested multi bulk replies with depth > 7"},
      {"$-7\r\n", "bad reply"},
      {"*-5\r\n", "bad reply"},
      {"*2147483648\r\n", "bad reply"},
      {":12x\r\n", "bad reply"},
      {"$99999999999999999999\r\n", "bad reply"},
      {"+OK\r\n+OK\r\n", "unsolicited data after a reply"},
      {"$3\r\nabcd\r\n", "unsolicited data after a reply"},
      // Over the 4 KiB limit below: by the bytes claimed and sent, or by the values in them.
      {"$1000000000\r\n" + std::string(5000, 'x'), "reply larger than the limit of 4096 bytes"},
      {many_values, "reply larger than the limit of 4096 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(bulk(c.reply).describe());
    FakeServer server(io_, {c.reply});
    run([&]() -> awaitable<void> {
      Client client(io_.get_executor(), 4096);
      CO_EXPECT_TRUE((co_await client.connect("127.0.0.1", server.port(), kTimeout)).ok());
      Result<Reply> reply = co_await client.command(argv("PING"), kTimeout);
      EXPECT_FALSE(reply.ok());
      if (!reply.ok()) {
        EXPECT_EQ(reply.error().code, ErrorCode::kIo);
        EXPECT_NE(reply.error().message.find(c.error), std::string::npos) << reply.error().message;
      }
      EXPECT_FALSE(client.isOpen());
    });
  }
}

TEST_F(ClientTest, RepliesUpToTheLimitAndAllNestingHiredisAllows) {
  std::string deep;
  for (int i = 0; i < 7; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  const std::string big = "$3000\r\n" + std::string(3000, 'y') + "\r\n";
  FakeServer server(io_,
                    {deep, big, "*0\r\n", "*-1\r\n", "-ERR no\r\n", ":-9223372036854775808\r\n"});
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor(), 4096);
    CO_EXPECT_TRUE((co_await client.connect("127.0.0.1", server.port(), kTimeout)).ok());
    Reply r = ok(co_await client.command(argv("A"), kTimeout));
    for (int depth = 0; depth < 7; ++depth) {
      if (r.kind != Kind::kArray || r.elements.size() != 1) {
        ADD_FAILURE() << "at depth " << depth << ": " << r.describe();
        co_return;
      }
      r = Reply(r.elements[0]);
    }
    EXPECT_EQ(r, integer(1));
    CO_EXPECT_EQ(ok(co_await client.command(argv("B"), kTimeout)), bulk(std::string(3000, 'y')));
    Reply empty = ok(co_await client.command(argv("C"), kTimeout));
    EXPECT_EQ(empty.kind, Kind::kArray);
    EXPECT_TRUE(empty.elements.empty());
    CO_EXPECT_EQ(ok(co_await client.command(argv("D"), kTimeout)), Reply{});
    Reply error = ok(co_await client.command(argv("E"), kTimeout));
    EXPECT_EQ(error.kind, Kind::kError);
    EXPECT_EQ(error.str, "ERR no");
    CO_EXPECT_EQ(ok(co_await client.command(argv("F"), kTimeout)),
                 integer(std::numeric_limits<int64_t>::min()));
    EXPECT_TRUE(client.isOpen());
  });
}

TEST(ReplyTest, Describe) {
  EXPECT_EQ(Reply{}.describe(), "nil");
  EXPECT_EQ(integer(-3).describe(), "integer -3");
  EXPECT_EQ(status("OK").describe(), "status \"OK\"");
  EXPECT_EQ(bulk(std::string("a\0\"\\\xff", 5)).describe(), "string \"a\\x00\\\"\\\\\\xff\"");
  EXPECT_EQ(bulk(std::string(70, 'x')).describe(), "string \"" + std::string(64, 'x') + "\"...");
  Reply error;
  error.kind = Kind::kError;
  error.str = "ERR x";
  EXPECT_EQ(error.describe(), "error \"ERR x\"");
}

}  // namespace
}  // namespace hearth::eventsources::redis
