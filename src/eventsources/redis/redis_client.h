// An asynchronous Redis client (RESP2) over one TCP connection, for the Redis Streams event
// source. hiredis serves only as the codec: redisFormatCommandArgv encodes each command and a
// redisReader parses the replies into owned `Reply` values; the socket is Asio's.
//
// Errors: a socket failure, a timeout, a protocol error or an oversized reply is an Error with
// code kIo, and closes the connection (isOpen() turns false; connect() may be called again). A
// Redis error reply (`-ERR ...`) is not an Error: command() succeeds with a Reply of kind kError
// and the connection stays usable. Nothing throws.
//
// Limits: a hostile or broken server cannot make one reply use more than about twice
// `max_reply_bytes` of memory (the bytes received for it, plus a fixed charge per value, are
// counted against the limit), nor nest arrays deeper than hiredis's 7 levels.
//
// Threading: not thread-safe. Use one Client from one coroutine at a time, on the executor it
// was made with; commands are not pipelined (one command in flight per Client, CHECKed). The
// Client must outlive the coroutines of its calls.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/result.h"

namespace hearth::eventsources::redis {

// One RESP2 reply, owned. Strings are binary-safe (may contain NUL).
struct Reply {
  enum class Kind : uint8_t {
    kNil,      // `$-1` or `*-1`
    kInteger,  // `:` — in `integer`
    kStatus,   // `+` (simple string) — in `str`
    kString,   // `$` (bulk string) — in `str`
    kError,    // `-` — the message in `str`, e.g. "ERR unknown command ..."
    kArray,    // `*` — in `elements`
  };

  Kind kind = Kind::kNil;
  int64_t integer = 0;
  std::string str;
  std::vector<Reply> elements;

  // For error messages and logs: the kind and a short, escaped excerpt, e.g. `status "OK"`,
  // `array of 3`, `string "ab\x00c..."`.
  std::string describe() const;

  bool operator==(const Reply&) const = default;
};

// Default cap on one reply: Redis's own default limit for a bulk string (proto-max-bulk-len).
inline constexpr size_t kDefaultMaxReplyBytes = size_t{512} << 20;
// Largest command we encode (all arguments together); a larger one is kInvalidParameter.
inline constexpr size_t kMaxCommandBytes = size_t{512} << 20;

class Client {
 public:
  explicit Client(boost::asio::any_io_executor executor,
                  size_t max_reply_bytes = kDefaultMaxReplyBytes);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects to `host` (an IPv4 or IPv6 literal without brackets, or a name to resolve) and
  // sets TCP_NODELAY, closing any previous connection first. Fails with kIo if that does not
  // finish within `timeout`. A name's resolution (getaddrinfo, which Asio runs off this thread)
  // cannot be cut short: the timeout takes effect once it returns.
  boost::asio::awaitable<Result<void>> connect(std::string host, uint16_t port,
                                               std::chrono::milliseconds timeout);

  // Sends one command (`argv[0]` is its name, e.g. {"XREAD", "COUNT", "10", ...}) and reads its
  // reply, all within `timeout`; for a blocking command (XREAD BLOCK) the timeout must be longer
  // than the block time. A closed client (close() may come from another coroutine, e.g. a
  // poller being stopped, at any await) fails with kIo. REQUIRES: !argv.empty(), no other
  // command in flight.
  boost::asio::awaitable<Result<Reply>> command(std::vector<std::string> argv,
                                                std::chrono::milliseconds timeout);

  bool isOpen() const { return socket_.is_open(); }
  void close();

 private:
  class Parser;

  // connect() without the timeout; `where` names the peer in errors.
  boost::asio::awaitable<Result<void>> open(std::string host, uint16_t port, std::string where);
  boost::asio::awaitable<Result<Reply>> exchange(const char* request, size_t size);

  boost::asio::ip::tcp::socket socket_;
  size_t max_reply_bytes_;
  std::unique_ptr<Parser> parser_;  // Invariant: non-null exactly while the socket is open.
  bool busy_ = false;               // a command is in flight
  std::array<char, 16 * 1024> chunk_;
};

}  // namespace hearth::eventsources::redis
