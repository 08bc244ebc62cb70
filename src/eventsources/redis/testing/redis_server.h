// Servers for the Redis tests: a real redis-server process on a free loopback port, and a
// scripted fake that answers each request with bytes the test chooses (silence, garbage, replies
// of any shape).
//
// Threading: RedisServer is used from the test's thread; FakeServer runs on the io_context given
// to it, like the Client under test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "common/result.h"
#include "eventsources/redis/redis_client.h"

namespace hearth::eventsources::redis::testing {

// One Debian redis-server (`/usr/bin/redis-server`), bound to 127.0.0.1 on a free port, without
// persistence, its working directory and log in a temporary directory of its own. The process
// dies with the test process (PR_SET_PDEATHSIG) if the test crashes.
class RedisServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/redis-server";

  // Why no server can be started on this host, or nullopt; tests GTEST_SKIP() with the reason.
  static std::optional<std::string> unavailable();

  // Starts a server and returns once it answers PING (within 10 s), retrying with another port
  // if the one picked was taken in between.
  static Result<std::unique_ptr<RedisServer>> start();

  // Stops the server (as stop()) and removes its directory.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }

  // Sends exactly this server's process SIGTERM and reaps it. Idempotent. Its clients see their
  // connections closed.
  void stop();

 private:
  RedisServer(std::filesystem::path dir, pid_t pid, uint16_t port)
      : dir_(std::move(dir)), pid_(pid), port_(port) {}

  // Makes the directory and starts the process, on a port that was free a moment ago.
  static Result<std::unique_ptr<RedisServer>> spawn();
  // Polls (bounded by 10 s) until the server answers PING; false if it exited or never answered.
  bool awaitReady();

  std::filesystem::path dir_;
  pid_t pid_;  // -1 when there is no process (not started, exited, or stopped)
  uint16_t port_;
};

// Accepts one connection on 127.0.0.1 (port 0) and, for each complete RESP request it reads,
// records the request and writes the next of `replies` verbatim; with none left it stays silent
// and keeps the connection open. Destroy it before its io_context.
class FakeServer {
 public:
  FakeServer(boost::asio::io_context& io, std::vector<std::string> replies);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  uint16_t port() const { return port_; }
  // The requests read so far, each as its arguments.
  const std::vector<std::vector<std::string>>& requests() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the coroutine serving the connection
  uint16_t port_ = 0;
};

// A command's arguments as a vector. Tests write `co_await client.command(argv("GET", key), t)`:
// GCC 12 rejects a braced list of strings inside a co_await expression.
template <typename... Args>
std::vector<std::string> argv(Args&&... args) {
  std::vector<std::string> out;
  (out.emplace_back(std::forward<Args>(args)), ...);
  return out;
}

// For gtest files: EXPECT_EQ / EXPECT_TRUE for a value a coroutine computes with co_await, which
// the macros evaluate as a statement of its own: GCC 12 miscompiles a co_await inside gtest's assertion macros (a
// temporary in the coroutine frame is destroyed twice).
#define CO_EXPECT_EQ(expr, expected)       \
  do {                                     \
    auto co_expect_value_ = (expr);        \
    EXPECT_EQ(co_expect_value_, expected); \
  } while (0)
#define CO_EXPECT_TRUE(expr)                \
  do {                                      \
    const bool co_expect_value_ = (expr);   \
    EXPECT_TRUE(co_expect_value_) << #expr; \
  } while (0)

// Runs `body` on `io` until it finishes; false if it did not within `limit`. Rethrows what it
// throws (a failed gtest assertion inside stays a test failure).
bool runCoroutine(boost::asio::io_context& io, std::function<boost::asio::awaitable<void>()> body,
                  std::chrono::seconds limit = std::chrono::seconds(20));

// Polls the server through `observer` (INFO clients, at most every millisecond, for at most 10 s)
// until `count` clients are blocked in a command such as XREAD BLOCK: the way to know another
// client's blocking command has reached the server. kIo if that does not happen.
boost::asio::awaitable<Result<void>> awaitBlockedClients(Client& observer, int count);

}  // namespace hearth::eventsources::redis::testing
