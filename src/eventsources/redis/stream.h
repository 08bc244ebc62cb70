// Redis Streams for the event source: entry ids, the EventSourceArn that names a stream, and the
// stream commands the poller issues over a Client. Formats: docs/formats/redis-stream-source.md.
//
// Every reply is checked for the exact shape Redis sends; anything else (a hostile or buggy
// server) is an Error with code kIo, "redis: unexpected reply to XREAD: ...", never a crash. A
// Redis error reply (e.g. WRONGTYPE) is an Error with code kIo carrying the server's message.
// Neither closes the connection: it is still in step with the server.
//
// Each command must be answered within kReplyTimeout (plus the block time for readAfter), or it
// fails with kIo and the Client closes the connection.
//
// Threading: the command functions have the Client's rules (one command at a time per Client);
// the rest is pure.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/result.h"
#include "eventsources/redis/redis_client.h"

namespace hearth::eventsources::redis {

inline constexpr std::chrono::milliseconds kReplyTimeout{5000};

// A stream entry id, "<ms>-<seq>". Ordered as Redis orders entries. 0-0 precedes every entry.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  // Accepts exactly "<ms>-<seq>", each a decimal in 0..2^64-1 without sign or leading zeros (the
  // form Redis sends); no "*", "$", "+", "-" or bare "<ms>". kInvalidParameter otherwise.
  static Result<StreamId> parse(std::string_view text);
  std::string toString() const;

  auto operator<=>(const StreamId&) const = default;
};

// The EventSourceArn of a self-hosted Redis stream:
//   arn:aws:redis:<region>:<account>:stream/<host>:<port>/<db>/<key>
// Hearth identifies the stream by host, port, db and key; region and account are informational.
struct StreamArn {
  std::string region;   // empty, or [a-z0-9-], at most 64 characters
  std::string account;  // empty, or 12 digits
  std::string host;     // a DNS name, an IPv4 literal, or an IPv6 literal (without brackets)
  uint16_t port = 0;    // 1..65535
  uint32_t db = 0;      // 0..2^31-1 (Redis has 16 by default)
  std::string key;      // the stream key, decoded: 1..1024 bytes, any bytes

  bool operator==(const StreamArn&) const = default;
};

inline constexpr size_t kMaxStreamArnLength = 2048;
inline constexpr size_t kMaxStreamKeyBytes = 1024;

// Parses an ARN of the form above, at most kMaxStreamArnLength characters. The key is
// percent-encoded (RFC 3986): every character of it is unreserved or a %XX escape, either case of
// hex. Numbers are decimal without sign or leading zeros. kInvalidParameter, saying what is wrong,
// for anything else.
Result<StreamArn> parseStreamArn(std::string_view arn);

// The canonical ARN: the key's unreserved bytes as they are, every other byte as %XX with
// upper-case hex; IPv6 hosts in brackets. For any ARN that parsed,
// parseStreamArn(formatStreamArn(a)) == a and the result is no longer than the text parsed.
// REQUIRES: `arn` has the field values documented on StreamArn.
std::string formatStreamArn(const StreamArn& arn);

struct StreamEntry {
  StreamId id;
  std::vector<std::pair<std::string, std::string>> fields;  // in the order stored

  bool operator==(const StreamEntry&) const = default;
};

// SELECT db. Applies to the connection: call it again after every connect().
boost::asio::awaitable<Result<void>> selectDb(Client& client, uint32_t db);

// Up to `count` entries of `key` after `after`, oldest first (XREAD COUNT <count> [BLOCK <block>]
// STREAMS <key> <after>). With a positive `block`, waits up to that long for the first entry to
// arrive; zero (or less) does not wait. Empty when there is nothing (yet), or the key does not
// exist. Checked: every id is greater than `after` and than the one before it; at most `count`
// entries. A count of 0 is kInvalidParameter.
boost::asio::awaitable<Result<std::vector<StreamEntry>>> readAfter(Client& client, std::string key,
                                                                   StreamId after, uint32_t count,
                                                                   std::chrono::milliseconds block);

// The id of the newest entry of `key` (XREVRANGE key + - COUNT 1), 0-0 if the stream is empty or
// does not exist. Reading after it returns only entries added later.
boost::asio::awaitable<Result<StreamId>> lastId(Client& client, std::string key);

// The id of the oldest entry still in `key` (XRANGE key - + COUNT 1); nullopt if the stream is
// empty or does not exist. How a poller tells that the stream was trimmed past its checkpoint: if
// the entry `c` it last read is older than firstId (or the stream is empty and lastId > c), `c`
// is gone, and entries between `c` and firstId may have been trimmed unread. (Redis keeps no exact
// record: XINFO's max-deleted-entry-id counts XDEL only, not trimming.)
boost::asio::awaitable<Result<std::optional<StreamId>>> firstId(Client& client, std::string key);

}  // namespace hearth::eventsources::redis
