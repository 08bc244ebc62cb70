// StreamId and StreamArn parsing and formatting (pure), the stream commands against a real
// redis-server (skipped without one), and their reply checks against a scripted fake server.
#include "eventsources/redis/stream.h"

#include <cctype>
#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "eventsources/redis/testing/redis_server.h"

namespace hearth::eventsources::redis {

// For gtest's messages (found by argument-dependent lookup, hence outside the unnamed namespace).
void PrintTo(const StreamId& id, std::ostream* os) { *os << id.toString(); }

namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::awaitable;
using std::chrono::milliseconds;
using testing::argv;
using testing::FakeServer;
using testing::RedisServer;

constexpr milliseconds kTimeout{5000};

// ---- StreamId ----

TEST(StreamIdTest, ParsesCanonicalIds) {
  struct Case {
    std::string text;
    StreamId id;
  };
  const std::vector<Case> cases = {
      {"0-0", {0, 0}},
      {"1700000000000-5", {1700000000000, 5}},
      {"18446744073709551615-18446744073709551615", {UINT64_MAX, UINT64_MAX}},
      {"10-0", {10, 0}},
  };
  for (const Case& c : cases) {
    Result<StreamId> id = StreamId::parse(c.text);
    ASSERT_TRUE(id.ok()) << c.text;
    EXPECT_EQ(*id, c.id);
    EXPECT_EQ(id->toString(), c.text);
  }
}

TEST(StreamIdTest, RejectsEverythingElse) {
  const std::vector<std::string> bad = {"",
                                        "-",
                                        "1",
                                        "1-",
                                        "-1",
                                        "*",
                                        "$",
                                        "+",
                                        "1-*",
                                        "*-1",
                                        "01-1",
                                        "1-01",
                                        "00-0",
                                        "+1-1",
                                        "1-+1",
                                        "-1-1",
                                        " 1-1",
                                        "1-1 ",
                                        "1 -1",
                                        "1-2-3",
                                        "a-b",
                                        "1--1",
                                        "0x1-1",
                                        "1.0-1",
                                        "1e3-1",
                                        "18446744073709551616-0",
                                        "0-18446744073709551616",
                                        "99999999999999999999999-0",
                                        std::string("1\0-1", 4),
                                        std::string("1-1\0", 4),
                                        "1_1",
                                        "\xef\xbc\x91-1"};  // a full-width digit
  for (const std::string& text : bad) {
    Result<StreamId> id = StreamId::parse(text);
    EXPECT_FALSE(id.ok()) << "accepted " << text;
    if (!id.ok()) {
      EXPECT_EQ(id.error().code, ErrorCode::kInvalidParameter);
    }
  }
}

TEST(StreamIdTest, OrdersAsRedisDoes) {
  EXPECT_LT((StreamId{1, 5}), (StreamId{2, 0}));
  EXPECT_LT((StreamId{1, 5}), (StreamId{1, 6}));
  EXPECT_LT((StreamId{0, 0}), (StreamId{0, 1}));
  EXPECT_LT((StreamId{0, UINT64_MAX}), (StreamId{1, 0}));
  EXPECT_EQ((StreamId{3, 4}), (StreamId{3, 4}));
  EXPECT_GT((StreamId{UINT64_MAX, 0}), (StreamId{UINT64_MAX - 1, UINT64_MAX}));
}

// ---- StreamArn ----

StreamArn arnOf(std::string region, std::string account, std::string host, uint16_t port,
                uint32_t db, std::string key) {
  return StreamArn{std::move(region), std::move(account), std::move(host), port, db,
                   std::move(key)};
}

TEST(StreamArnTest, ParsesAndFormatsCanonically) {
  struct Case {
    std::string text;
    StreamArn arn;
    std::string canonical;  // empty: the text itself
  };
  std::string all_bytes;
  std::string all_bytes_encoded;
  for (int b = 1; b < 256; ++b) {
    all_bytes += static_cast<char>(b);
    const bool unreserved = std::isalnum(b) || b == '-' || b == '.' || b == '_' || b == '~';
    if (unreserved) {
      all_bytes_encoded += static_cast<char>(b);
    } else {
      all_bytes_encoded += '%';
      all_bytes_encoded += "0123456789ABCDEF"[b >> 4];
      all_bytes_encoded += "0123456789ABCDEF"[b & 0xf];
    }
  }
  const std::vector<Case> cases = {
      {"arn:aws:redis:us-east-1:123456789012:stream/redis.example.com:6379/0/orders",
       arnOf("us-east-1", "123456789012", "redis.example.com", 6379, 0, "orders"), ""},
      {"arn:aws:redis:::stream/127.0.0.1:6379/0/k", arnOf("", "", "127.0.0.1", 6379, 0, "k"), ""},
      {"arn:aws:redis:::stream/[::1]:1/15/a%2Fb", arnOf("", "", "::1", 1, 15, "a/b"), ""},
      {"arn:aws:redis:eu-west-2::stream/[2001:db8::ff00:42:8329]:65535/2147483647/x",
       arnOf("eu-west-2", "", "2001:db8::ff00:42:8329", 65535, 2147483647, "x"), ""},
      {"arn:aws:redis::000000000000:stream/[::ffff:192.0.2.1]:6379/3/x",
       arnOf("", "000000000000", "::ffff:192.0.2.1", 6379, 3, "x"), ""},
      {"arn:aws:redis:::stream/redis_1:6379/0/events.v2~x-y_z",
       arnOf("", "", "redis_1", 6379, 0, "events.v2~x-y_z"), ""},
      {"arn:aws:redis:::stream/REDIS-A.Example.com:6379/0/k",
       arnOf("", "", "REDIS-A.Example.com", 6379, 0, "k"), ""},
      // Either case of hex, and escaped unreserved characters; the canonical form differs.
      {"arn:aws:redis:::stream/h:1/0/a%2fb%2F%41%7e", arnOf("", "", "h", 1, 0, "a/b/A~"),
       "arn:aws:redis:::stream/h:1/0/a%2Fb%2FA~"},
      // A NUL byte in the key, escaped.
      {"arn:aws:redis:::stream/h:1/0/%00x", arnOf("", "", "h", 1, 0, std::string("\0x", 2)), ""},
      {"arn:aws:redis:::stream/h:1/0/%00" + all_bytes_encoded,
       arnOf("", "", "h", 1, 0, std::string(1, '\0') + all_bytes), ""},
      {"arn:aws:redis:::stream/h:1/0/" + std::string(1024, 'k'),
       arnOf("", "", "h", 1, 0, std::string(1024, 'k')), ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Result<StreamArn> arn = parseStreamArn(c.text);
    ASSERT_TRUE(arn.ok()) << arn.error().toString();
    EXPECT_EQ(*arn, c.arn);
    const std::string formatted = formatStreamArn(*arn);
    EXPECT_EQ(formatted, c.canonical.empty() ? c.text : c.canonical);
    EXPECT_LE(formatted.size(), c.text.size());
    Result<StreamArn> again = parseStreamArn(formatted);
    ASSERT_TRUE(again.ok()) << again.error().toString();
    EXPECT_EQ(*again, *arn);
  }
}

TEST(StreamArnTest, RejectsMistakesWithClearMessages) {
  const std::string ok_prefix = "arn:aws:redis:::stream/";
  struct Case {
    std::string text;
    std::string message;  // a part of the error message
  };
  const std::vector<Case> cases = {
      {"", "must start with arn:aws:redis:"},
      {"arn:aws:lambda:us-east-1:123456789012:function:f", "must start with arn:aws:redis:"},
      {"ARN:AWS:REDIS:::stream/h:1/0/k", "must start with arn:aws:redis:"},
      {"arn:aws-cn:redis:::stream/h:1/0/k", "must start with arn:aws:redis:"},
      {"arn:aws:redis:", "want arn:aws:redis:<region>:<account>:stream/"},
      {"arn:aws:redis:us-east-1", "want arn:aws:redis:<region>:<account>:stream/"},
      {"arn:aws:redis:us-east-1:123456789012", "want arn:aws:redis:<region>:<account>:stream/"},
      {"arn:aws:redis:US-EAST-1::stream/h:1/0/k", "the region must be"},
      {"arn:aws:redis:" + std::string(65, 'a') + "::stream/h:1/0/k", "the region must be"},
      {"arn:aws:redis::1234:stream/h:1/0/k", "the account must be empty or 12 digits"},
      {"arn:aws:redis::12345678901a:stream/h:1/0/k", "the account must be empty or 12 digits"},
      {"arn:aws:redis:::table/h:1/0/k", "the resource must be stream/"},
      {"arn:aws:redis:::stream", "the resource must be stream/"},
      {"arn:aws:redis:::Stream/h:1/0/k", "the resource must be stream/"},
      // Host and port.
      {ok_prefix + "h/0/k", "want <host>:<port> after stream/"},
      {ok_prefix + ":1/0/k", "the host must be"},
      {ok_prefix + "::1:1/0/k", "the host must be"},
      {ok_prefix + "-h:1/0/k", "the host must be"},
      {ok_prefix + "h-:1/0/k", "the host must be"},
      {ok_prefix + "a..b:1/0/k", "the host must be"},
      {ok_prefix + "a.b.:1/0/k", "the host must be"},
      {ok_prefix + "ex ample:1/0/k", "the host must be"},
      {ok_prefix + "h%41:1/0/k", "the host must be"},
      {ok_prefix + std::string(64, 'a') + ":1/0/k", "the host must be"},
      {ok_prefix + "999.1.1.1:1/0/k", "the host must be"},
      {ok_prefix + "1.2.3:1/0/k", "the host must be"},
      {ok_prefix + "h]:1/0/k", "the host must be"},
      {ok_prefix + std::string("h\0:1/0/k", 8), "the host must be"},
      {ok_prefix + "[::1:1/0/k", "[ without ]"},
      {ok_prefix + "[::1]1/0/k", "want :<port> after the ]"},
      {ok_prefix + "[::1]/0/k", "want :<port> after the ]"},
      {ok_prefix + "[]:1/0/k", "must be an IPv6 address"},
      {ok_prefix + "[127.0.0.1]:1/0/k", "must be an IPv6 address"},
      {ok_prefix + "[h]:1/0/k", "must be an IPv6 address"},
      {ok_prefix + "[fe80::1%25eth0]:1/0/k", "must be an IPv6 address without zone"},
      {ok_prefix + "[[::1]]:1/0/k", "must be an IPv6 address"},
      {ok_prefix + "h:0/0/k", "the port must be a decimal in 1..65535"},
      {ok_prefix + "h:65536/0/k", "the port must be a decimal in 1..65535"},
      {ok_prefix + "h:/0/k", "the port must be a decimal in 1..65535"},
      {ok_prefix + "h:080/0/k", "the port must be a decimal in 1..65535"},
      {ok_prefix + "h:+80/0/k", "the port must be a decimal in 1..65535"},
      {ok_prefix + "h:-1/0/k", "the port must be a decimal in 1..65535"},
      {ok_prefix + "h:http/0/k", "the port must be a decimal in 1..65535"},
      {ok_prefix + "h:1:2/0/k", "the port must be a decimal in 1..65535"},
      {ok_prefix + "h:99999999999999999999/0/k", "the port must be a decimal in 1..65535"},
      // Db.
      {ok_prefix + "h:1", "want <host>:<port>/<db>/<key>"},
      {ok_prefix + "h:1/0", "want <host>:<port>/<db>/<key>"},
      {ok_prefix + "h:1//k", "the db must be a decimal in 0..2147483647"},
      {ok_prefix + "h:1/01/k", "the db must be a decimal in 0..2147483647"},
      {ok_prefix + "h:1/-1/k", "the db must be a decimal in 0..2147483647"},
      {ok_prefix + "h:1/2147483648/k", "the db must be a decimal in 0..2147483647"},
      {ok_prefix + "h:1/1x/k", "the db must be a decimal in 0..2147483647"},
      // Key.
      {ok_prefix + "h:1/0/", "the key is empty"},
      {ok_prefix + "h:1/0/%", "% not followed by two hex digits"},
      {ok_prefix + "h:1/0/%4", "% not followed by two hex digits"},
      {ok_prefix + "h:1/0/a%zz", "% not followed by two hex digits"},
      {ok_prefix + "h:1/0/a%4g", "% not followed by two hex digits"},
      {ok_prefix + "h:1/0/a b", "the key must be percent-encoded"},
      {ok_prefix + "h:1/0/a/b", "the key must be percent-encoded"},
      {ok_prefix + "h:1/0/a:b", "the key must be percent-encoded"},
      {ok_prefix + "h:1/0/a+b", "the key must be percent-encoded"},
      {ok_prefix + std::string("h:1/0/a\0b", 9), "the key must be percent-encoded"},
      {ok_prefix + "h:1/0/\xc3\xa9", "the key must be percent-encoded"},
      {ok_prefix + "h:1/0/" + std::string(1025, 'k'), "the key is longer than 1024 bytes"},
      {ok_prefix + "h:1/0/" + std::string(2048, 'k'), "longer than 2048 characters"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text.substr(0, 100));
    Result<StreamArn> arn = parseStreamArn(c.text);
    ASSERT_FALSE(arn.ok()) << formatStreamArn(*arn);
    EXPECT_EQ(arn.error().code, ErrorCode::kInvalidParameter);
    EXPECT_TRUE(arn.error().message.starts_with("invalid Redis stream ARN: "))
        << arn.error().message;
    EXPECT_NE(arn.error().message.find(c.message), std::string::npos) << arn.error().message;
  }
}

TEST(StreamArnTest, LengthLimitIsExact) {
  // 2048 characters: a key of escapes ("%2F" each) and plain characters that fills them.
  const std::string prefix = "arn:aws:redis:::stream/h:1/0/";
  const size_t room = kMaxStreamArnLength - prefix.size();
  std::string key_text(room % 3, 'k');
  for (size_t i = 0; i < room / 3; ++i) key_text += "%2F";
  const std::string longest = prefix + key_text;
  ASSERT_EQ(longest.size(), kMaxStreamArnLength);
  Result<StreamArn> at_limit = parseStreamArn(longest);
  EXPECT_TRUE(at_limit.ok()) << at_limit.error().toString();

  Result<StreamArn> over = parseStreamArn(longest + "k");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("longer than 2048 characters"), std::string::npos);
}

// ---- Commands against a real server ----

class StreamServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::optional<std::string> why = RedisServer::unavailable()) GTEST_SKIP() << *why;
    Result<std::unique_ptr<RedisServer>> server = RedisServer::start();
    ASSERT_TRUE(server.ok()) << server.error().toString();
    server_ = std::move(*server);
  }

  void run(std::function<awaitable<void>()> body) {
    ASSERT_TRUE(testing::runCoroutine(io_, std::move(body))) << "test did not finish";
  }

  awaitable<void> connect(Client& client) {
    Result<void> connected = co_await client.connect("127.0.0.1", server_->port(), kTimeout);
    EXPECT_TRUE(connected.ok()) << connected.error().toString();
  }

  // Runs a command that must succeed without an error reply.
  static awaitable<Reply> must(Client& client, std::vector<std::string> args) {
    const std::string name = args[0];
    Result<Reply> reply = co_await client.command(std::move(args), kTimeout);
    EXPECT_TRUE(reply.ok()) << reply.error().toString();
    if (!reply.ok()) co_return Reply{};
    EXPECT_NE(reply->kind, Reply::Kind::kError) << name << ": " << reply->str;
    co_return std::move(*reply);
  }

  asio::io_context io_;
  std::unique_ptr<RedisServer> server_;
};

template <typename T>
T value(Result<T> r) {
  if (!r) {
    ADD_FAILURE() << r.error().toString();
    return T{};
  }
  return std::move(r).value();
}

TEST_F(StreamServerTest, ReadAfterInOrderWithCount) {
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    co_await connect(client);
    const std::string binary("v\0\r\n", 4);
    for (int i = 1; i <= 5; ++i) {
      co_await must(client, argv("XADD", "s", "1-" + std::to_string(i), "n", std::to_string(i),
                                 "bin", binary));
    }
    auto added = [&](uint64_t seq) {
      return StreamEntry{{1, seq}, {{"n", std::to_string(seq)}, {"bin", binary}}};
    };
    // Not compared in the co_await's own statement: GCC 12 rejects an initializer list there.
    std::vector<StreamEntry> first = value(co_await readAfter(client, "s", {}, 3, {}));
    EXPECT_EQ(first, (std::vector<StreamEntry>{added(1), added(2), added(3)}));
    std::vector<StreamEntry> rest = value(co_await readAfter(client, "s", {1, 3}, 10, {}));
    EXPECT_EQ(rest, (std::vector<StreamEntry>{added(4), added(5)}));
    CO_EXPECT_TRUE(value(co_await readAfter(client, "s", {1, 5}, 10, {})).empty());
    CO_EXPECT_TRUE(value(co_await readAfter(client, "missing", {}, 10, {})).empty());
    Result<std::vector<StreamEntry>> zero = co_await readAfter(client, "s", {}, 0, {});
    EXPECT_FALSE(zero.ok());
    if (!zero.ok()) {
      EXPECT_EQ(zero.error().code, ErrorCode::kInvalidParameter);
    }

    // A server error reply is an Error; the connection stays usable.
    co_await must(client, argv("SET", "str", "x"));
    Result<std::vector<StreamEntry>> wrong = co_await readAfter(client, "str", {}, 1, {});
    EXPECT_FALSE(wrong.ok());
    if (!wrong.ok()) {
      EXPECT_EQ(wrong.error().code, ErrorCode::kIo);
      EXPECT_NE(wrong.error().message.find("redis: XREAD: WRONGTYPE"), std::string::npos)
          << wrong.error().message;
    }
    EXPECT_TRUE(client.isOpen());
    CO_EXPECT_EQ(value(co_await lastId(client, "s")), (StreamId{1, 5}));
  });
}

TEST_F(StreamServerTest, BlockReturnsNothingAfterTheBlockTime) {
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    co_await connect(client);
    const auto start = std::chrono::steady_clock::now();
    std::vector<StreamEntry> entries =
        value(co_await readAfter(client, "s", {}, 10, milliseconds(200)));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(entries.empty());
    EXPECT_GE(elapsed, milliseconds(200));
    EXPECT_LT(elapsed, kReplyTimeout);
    EXPECT_TRUE(client.isOpen());
  });
}

TEST_F(StreamServerTest, BlockWokenByAnotherClientsXadd) {
  run([&]() -> awaitable<void> {
    Client reader(io_.get_executor());
    Client writer(io_.get_executor());
    co_await connect(reader);
    co_await connect(writer);
    co_await must(writer, argv("XADD", "s", "5-1", "old", "1"));
    const StreamId after = value(co_await lastId(reader, "s"));
    EXPECT_EQ(after, (StreamId{5, 1}));
    const auto start = std::chrono::steady_clock::now();
    auto read = [&]() -> awaitable<Result<std::vector<StreamEntry>>> {
      co_return co_await readAfter(reader, "s", after, 10, std::chrono::seconds(20));
    };
    auto write = [&]() -> awaitable<void> {
      Result<void> blocked = co_await testing::awaitBlockedClients(writer, 1);
      EXPECT_TRUE(blocked.ok()) << blocked.error().toString();
      co_await must(writer, argv("XADD", "s", "7-0", "new", "2"));
    };
    std::vector<StreamEntry> entries = value(co_await (read() && write()));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
    EXPECT_EQ(entries, (std::vector<StreamEntry>{{{7, 0}, {{"new", "2"}}}}));
  });
}

TEST_F(StreamServerTest, BoundsOfEmptyMissingAndTrimmedStreams) {
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    co_await connect(client);
    // Missing.
    CO_EXPECT_EQ(value(co_await lastId(client, "s")), StreamId{});
    CO_EXPECT_EQ(value(co_await firstId(client, "s")), std::nullopt);

    // Non-empty.
    for (const char* id : {"3-1", "3-2", "4-0", "9-9"}) {
      co_await must(client, argv("XADD", "s", id, "f", "v"));
    }
    CO_EXPECT_EQ(value(co_await lastId(client, "s")), (StreamId{9, 9}));
    CO_EXPECT_EQ(value(co_await firstId(client, "s")), (StreamId{3, 1}));

    // Trimmed past a reader whose checkpoint is 3-1: the first entry is now newer than it.
    co_await must(client, argv("XTRIM", "s", "MAXLEN", "2"));
    const std::optional<StreamId> first = value(co_await firstId(client, "s"));
    EXPECT_EQ(first, (StreamId{4, 0}));
    EXPECT_GT(first, (StreamId{3, 1}));
    // The newest entry deleted: the bound moves back.
    co_await must(client, argv("XDEL", "s", "9-9"));
    CO_EXPECT_EQ(value(co_await lastId(client, "s")), (StreamId{4, 0}));

    // Existing but empty.
    co_await must(client, argv("XDEL", "s", "4-0"));
    CO_EXPECT_EQ(value(co_await lastId(client, "s")), StreamId{});
    CO_EXPECT_EQ(value(co_await firstId(client, "s")), std::nullopt);
    CO_EXPECT_TRUE(value(co_await readAfter(client, "s", {}, 10, {})).empty());
  });
}

TEST_F(StreamServerTest, SelectDb) {
  run([&]() -> awaitable<void> {
    Client client(io_.get_executor());
    co_await connect(client);
    CO_EXPECT_TRUE((co_await selectDb(client, 3)).ok());
    co_await must(client, argv("XADD", "s", "1-1", "f", "v"));
    CO_EXPECT_EQ(value(co_await lastId(client, "s")), (StreamId{1, 1}));
    CO_EXPECT_TRUE((co_await selectDb(client, 0)).ok());
    CO_EXPECT_EQ(value(co_await lastId(client, "s")), StreamId{});
    Result<void> out_of_range = co_await selectDb(client, 16);
    EXPECT_FALSE(out_of_range.ok());
    if (!out_of_range.ok()) {
      EXPECT_EQ(out_of_range.error().code, ErrorCode::kIo);
      EXPECT_NE(out_of_range.error().message.find("redis: SELECT: ERR"), std::string::npos)
          << out_of_range.error().message;
    }
    EXPECT_TRUE(client.isOpen());
  });
}

// ---- Reply checks against a scripted server ----

std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string array(const std::vector<std::string>& elements) {
  std::string out = "*" + std::to_string(elements.size()) + "\r\n";
  for (const std::string& e : elements) out += e;
  return out;
}
std::string entry(std::string_view id, const std::vector<std::string>& fields) {
  std::vector<std::string> encoded;
  for (const std::string& f : fields) encoded.push_back(bulk(f));
  return array({bulk(id), array(encoded)});
}
std::string xread(std::string_view key, const std::vector<std::string>& entries) {
  return array({array({bulk(key), array(entries)})});
}

class StreamFakeServerTest : public ::testing::Test {
 protected:
  // Serves `reply` to one connection, runs `call` on a client connected to it, and returns the
  // requests the server saw.
  std::vector<std::vector<std::string>> serve(std::string reply,
                                              std::function<awaitable<void>(Client&)> call) {
    FakeServer server(io_, {std::move(reply)});
    EXPECT_TRUE(testing::runCoroutine(io_, [&]() -> awaitable<void> {
      Client client(io_.get_executor());
      Result<void> connected = co_await client.connect("127.0.0.1", server.port(), kTimeout);
      EXPECT_TRUE(connected.ok());
      co_await call(client);
    }));
    return server.requests();
  }

  asio::io_context io_;
};

TEST_F(StreamFakeServerTest, ReadAfterSendsTheCommandAndAcceptsRedisShapes) {
  std::vector<StreamEntry> got;
  auto requests = serve(xread("k", {entry("1-3", {"a", "1", "b", ""}), entry("2-0", {})}),
                        [&](Client& client) -> awaitable<void> {
                          got = value(co_await readAfter(client, "k", {1, 2}, 2, milliseconds(50)));
                        });
  EXPECT_EQ(requests, (std::vector<std::vector<std::string>>{
                          {"XREAD", "COUNT", "2", "BLOCK", "50", "STREAMS", "k", "1-2"}}));
  EXPECT_EQ(got, (std::vector<StreamEntry>{{{1, 3}, {{"a", "1"}, {"b", ""}}}, {{2, 0}, {}}}));

  requests = serve("*-1\r\n", [&](Client& client) -> awaitable<void> {
    CO_EXPECT_TRUE(value(co_await readAfter(client, "k", {}, 7, {})).empty());
  });
  EXPECT_EQ(
      requests,
      (std::vector<std::vector<std::string>>{{"XREAD", "COUNT", "7", "STREAMS", "k", "0-0"}}));
}

TEST_F(StreamFakeServerTest, MalformedReadRepliesAreErrors) {
  const std::string ok_entry = entry("1-1", {"f", "v"});
  const std::vector<std::string> replies = {
      "+OK\r\n",
      ":1\r\n",
      "$2\r\nhi\r\n",
      "*0\r\n",
      array({array({bulk("k"), array({ok_entry})}), array({bulk("k"), array({})})}),
      array({bulk("k")}),
      array({array({bulk("k")})}),
      array({array({bulk("k"), array({ok_entry}), bulk("x")})}),
      array({array({bulk("other"), array({ok_entry})})}),
      array({array({":1\r\n", array({ok_entry})})}),
      array({array({bulk("k"), bulk("entries")})}),
      array({array({bulk("k"), "*-1\r\n"})}),
      xread("k", {bulk("1-1")}),
      xread("k", {array({bulk("1-1")})}),
      xread("k", {array({bulk("1-1"), array({bulk("f")}), bulk("x")})}),
      xread("k", {entry("bad", {"f", "v"})}),
      xread("k", {entry("1", {"f", "v"})}),
      xread("k", {entry("*", {"f", "v"})}),
      xread("k", {array({":1\r\n", array({bulk("f"), bulk("v")})})}),
      xread("k", {entry("1-1", {"f"})}),
      xread("k", {array({bulk("1-1"), array({bulk("f"), ":1\r\n"})})}),
      xread("k", {array({bulk("1-1"), array({bulk("f"), "$-1\r\n"})})}),
      xread("k", {array({bulk("1-1"), "*-1\r\n"})}),
      xread("k", {array({bulk("1-1"), array({array({}), bulk("v")})})}),
      // Out of order, not after `after` (1-0), or more than COUNT (2).
      xread("k", {entry("1-2", {}), entry("1-1", {})}),
      xread("k", {entry("1-2", {}), entry("1-2", {})}),
      xread("k", {entry("1-0", {})}),
      xread("k", {entry("0-9", {})}),
      xread("k", {entry("1-1", {}), entry("1-2", {}), entry("1-3", {})}),
  };
  for (const std::string& reply : replies) {
    SCOPED_TRACE(reply);
    serve(reply, [&](Client& client) -> awaitable<void> {
      Result<std::vector<StreamEntry>> entries = co_await readAfter(client, "k", {1, 0}, 2, {});
      EXPECT_FALSE(entries.ok());
      if (entries.ok()) co_return;
      EXPECT_EQ(entries.error().code, ErrorCode::kIo);
      EXPECT_TRUE(entries.error().message.starts_with("redis: unexpected reply to XREAD: "))
          << entries.error().message;
      EXPECT_TRUE(client.isOpen());  // the reply was well-formed RESP: still in step
    });
  }
}

TEST_F(StreamFakeServerTest, MalformedRepliesToTheOtherCommands) {
  struct Case {
    std::string reply;
    std::function<awaitable<Result<void>>(Client&)> call;
    std::string message;
  };
  auto last = [](Client& c) -> awaitable<Result<void>> {
    Result<StreamId> id = co_await lastId(c, "k");
    if (!id) co_return std::move(id).error();
    co_return Result<void>{};
  };
  auto first = [](Client& c) -> awaitable<Result<void>> {
    Result<std::optional<StreamId>> id = co_await firstId(c, "k");
    if (!id) co_return std::move(id).error();
    co_return Result<void>{};
  };
  auto select = [](Client& c) -> awaitable<Result<void>> { co_return co_await selectDb(c, 1); };
  const std::vector<Case> cases = {
      {"$-1\r\n", last, "redis: unexpected reply to XREVRANGE: entries nil"},
      {array({entry("1-1", {}), entry("1-2", {})}), last,
       "redis: unexpected reply to XREVRANGE: entries array of 2"},
      {array({entry("x", {})}), last, "redis: unexpected reply to XREVRANGE: entry id"},
      {"-ERR boom\r\n", last, "redis: XREVRANGE: ERR boom"},
      {":0\r\n", first, "redis: unexpected reply to XRANGE: entries integer 0"},
      {array({entry("1-1", {"f"})}), first, "redis: unexpected reply to XRANGE: fields of 1-1"},
      {"+NOPE\r\n", select, "redis: unexpected reply to SELECT: status \"NOPE\""},
      {bulk("OK"), select, "redis: unexpected reply to SELECT: string \"OK\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reply);
    serve(c.reply, [&](Client& client) -> awaitable<void> {
      Result<void> result = co_await c.call(client);
      EXPECT_FALSE(result.ok());
      if (!result.ok()) {
        EXPECT_NE(result.error().message.find(c.message), std::string::npos)
            << result.error().message;
      }
    });
  }
}

}  // namespace
}  // namespace hearth::eventsources::redis
