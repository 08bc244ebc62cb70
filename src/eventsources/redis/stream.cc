#include "eventsources/redis/stream.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include "common/encoding.h"

namespace hearth::eventsources::redis {
namespace {

namespace asio = boost::asio;
using Kind = Reply::Kind;

constexpr std::string_view kArnPrefix = "arn:aws:redis:";
constexpr std::string_view kStreamResource = "stream/";
// What may appear in an encoded key: RFC 3986 unreserved characters, and '%' to start an escape.
constexpr std::string_view kKeyCharacters =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%";
constexpr size_t kMaxRegionLength = 64;
constexpr size_t kMaxHostLength = 253;
constexpr size_t kMaxLabelLength = 63;

// A decimal without sign or leading zeros, within uint64_t.
std::optional<uint64_t> parseDecimal(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isLowerAlnum(char c) { return isDigit(c) || (c >= 'a' && c <= 'z'); }
bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// RFC 1123 host names, plus '_' (container and service names use it). An all-numeric name must be
// an IPv4 address.
bool isHost(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostLength) return false;
  if (std::all_of(host.begin(), host.end(), [](char c) { return isDigit(c) || c == '.'; })) {
    boost::system::error_code ec;
    asio::ip::make_address_v4(host, ec);
    return !ec;
  }
  size_t start = 0;
  while (true) {
    const size_t dot = std::min(host.find('.', start), host.size());
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > kMaxLabelLength || label.front() == '-' ||
        label.back() == '-' || !std::all_of(label.begin(), label.end(), [](char c) {
          return isAlnum(c) || c == '-' || c == '_';
        })) {
      return false;
    }
    if (dot == host.size()) return true;
    start = dot + 1;
  }
}

bool isIpv6(std::string_view host) {
  boost::system::error_code ec;
  asio::ip::make_address_v6(host, ec);
  return !ec && host.find('%') == std::string_view::npos;  // no zone ids
}

Error invalidArn(std::string_view why) {
  return makeError(ErrorCode::kInvalidParameter, "invalid Redis stream ARN: " + std::string(why));
}

// Splits `s` at the first `sep`: the part before it, and `s` becomes the part after. nullopt, and
// `s` unchanged, if there is none.
std::optional<std::string_view> takeUntil(std::string_view& s, char sep) {
  const size_t pos = s.find(sep);
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view head = s.substr(0, pos);
  s.remove_prefix(pos + 1);
  return head;
}

Error unexpectedReply(std::string_view command, std::string_view what) {
  return makeError(ErrorCode::kIo,
                   "redis: unexpected reply to " + std::string(command) + ": " + std::string(what));
}

// Runs a command; a Redis error reply becomes an Error.
asio::awaitable<Result<Reply>> run(Client& client, std::vector<std::string> argv,
                                   std::chrono::milliseconds timeout = kReplyTimeout) {
  std::string command = argv[0];
  Result<Reply> reply = co_await client.command(std::move(argv), timeout);
  if (reply && reply->kind == Kind::kError) {
    co_return makeError(ErrorCode::kIo, "redis: " + command + ": " + reply->str);
  }
  co_return reply;
}

Result<StreamId> parseId(const Reply& reply, std::string_view command) {
  if (reply.kind == Kind::kString) {
    if (Result<StreamId> id = StreamId::parse(reply.str)) return id;
  }
  return unexpectedReply(command, "entry id " + reply.describe());
}

// An array of entries, [[id, [field, value, ...]], ...], as XRANGE and XREAD send them; at most
// `max_count`. Moves the strings out of `reply`.
Result<std::vector<StreamEntry>> parseEntries(Reply& reply, std::string_view command,
                                              uint32_t max_count) {
  if (reply.kind != Kind::kArray || reply.elements.size() > max_count) {
    return unexpectedReply(command, "entries " + reply.describe());
  }
  std::vector<StreamEntry> entries;
  entries.reserve(reply.elements.size());
  for (Reply& entry : reply.elements) {
    if (entry.kind != Kind::kArray || entry.elements.size() != 2) {
      return unexpectedReply(command, "entry " + entry.describe());
    }
    Result<StreamId> id = parseId(entry.elements[0], command);
    if (!id) return std::move(id).error();
    Reply& fields = entry.elements[1];
    if (fields.kind != Kind::kArray || fields.elements.size() % 2 != 0 ||
        !std::all_of(fields.elements.begin(), fields.elements.end(),
                     [](const Reply& f) { return f.kind == Kind::kString; })) {
      return unexpectedReply(command, "fields of " + id->toString() + ": " + fields.describe());
    }
    StreamEntry& out = entries.emplace_back(StreamEntry{*id, {}});
    out.fields.reserve(fields.elements.size() / 2);
    for (size_t i = 0; i < fields.elements.size(); i += 2) {
      out.fields.emplace_back(std::move(fields.elements[i].str),
                              std::move(fields.elements[i + 1].str));
    }
  }
  return entries;
}

// The id of the one entry XRANGE or XREVRANGE with COUNT 1 returned, nullopt if none.
asio::awaitable<Result<std::optional<StreamId>>> onlyEntryId(Client& client,
                                                             std::vector<std::string> argv) {
  std::string command = argv[0];
  Result<Reply> reply = co_await run(client, std::move(argv));
  if (!reply) co_return std::move(reply).error();
  Result<std::vector<StreamEntry>> entries = parseEntries(*reply, command, 1);
  if (!entries) co_return std::move(entries).error();
  if (entries->empty()) co_return std::optional<StreamId>();
  co_return std::optional<StreamId>(entries->front().id);
}

}  // namespace

Result<StreamId> StreamId::parse(std::string_view text) {
  const size_t dash = text.find('-');
  std::optional<uint64_t> ms, seq;
  if (dash != std::string_view::npos) {
    ms = parseDecimal(text.substr(0, dash));
    seq = parseDecimal(text.substr(dash + 1));
  }
  if (!ms || !seq) {
    return makeError(ErrorCode::kInvalidParameter,
                     "invalid stream entry id: want <ms>-<seq>, two decimals within 64 bits");
  }
  return StreamId{*ms, *seq};
}

std::string StreamId::toString() const { return std::to_string(ms) + "-" + std::to_string(seq); }

Result<StreamArn> parseStreamArn(std::string_view text) {
  if (text.size() > kMaxStreamArnLength) {
    return invalidArn("longer than " + std::to_string(kMaxStreamArnLength) + " characters");
  }
  if (!text.starts_with(kArnPrefix)) return invalidArn("it must start with arn:aws:redis:");
  std::string_view rest = text.substr(kArnPrefix.size());
  StreamArn arn;

  std::optional<std::string_view> region = takeUntil(rest, ':');
  std::optional<std::string_view> account = region ? takeUntil(rest, ':') : std::nullopt;
  if (!account) return invalidArn("want arn:aws:redis:<region>:<account>:stream/...");
  if (region->size() > kMaxRegionLength || !std::all_of(region->begin(), region->end(), [](char c) {
        return isLowerAlnum(c) || c == '-';
      })) {
    return invalidArn("the region must be empty or at most 64 of a-z, 0-9 and -");
  }
  if (!account->empty() &&
      (account->size() != 12 || !std::all_of(account->begin(), account->end(), isDigit))) {
    return invalidArn("the account must be empty or 12 digits");
  }
  arn.region = *region;
  arn.account = *account;

  if (!rest.starts_with(kStreamResource)) {
    return invalidArn("the resource must be stream/<host>:<port>/<db>/<key>");
  }
  rest.remove_prefix(kStreamResource.size());
  std::optional<std::string_view> host;
  if (rest.starts_with('[')) {
    rest.remove_prefix(1);
    host = takeUntil(rest, ']');
    if (!host) return invalidArn("[ without ] around the IPv6 host");
    if (!isIpv6(*host)) return invalidArn("the host in [] must be an IPv6 address without zone");
    if (!rest.starts_with(':')) return invalidArn("want :<port> after the ]");
    rest.remove_prefix(1);
  } else {
    host = takeUntil(rest, ':');
    if (!host) return invalidArn("want <host>:<port> after stream/");
    if (!isHost(*host)) {
      return invalidArn("the host must be a DNS name, an IPv4 address or a bracketed IPv6 address");
    }
  }
  arn.host = *host;

  std::optional<std::string_view> port = takeUntil(rest, '/');
  std::optional<std::string_view> db = port ? takeUntil(rest, '/') : std::nullopt;
  if (!db) return invalidArn("want <host>:<port>/<db>/<key>");
  std::optional<uint64_t> port_number = parseDecimal(*port);
  if (!port_number || *port_number == 0 || *port_number > std::numeric_limits<uint16_t>::max()) {
    return invalidArn("the port must be a decimal in 1..65535");
  }
  arn.port = static_cast<uint16_t>(*port_number);
  std::optional<uint64_t> db_number = parseDecimal(*db);
  if (!db_number || *db_number > uint64_t{std::numeric_limits<int32_t>::max()}) {
    return invalidArn("the db must be a decimal in 0..2147483647");
  }
  arn.db = static_cast<uint32_t>(*db_number);

  if (rest.find_first_not_of(kKeyCharacters) != std::string_view::npos) {
    return invalidArn("the key must be percent-encoded: only A-Z a-z 0-9 - . _ ~ and %XX");
  }
  std::optional<std::string> key = uriDecode(rest);
  if (!key) return invalidArn("the key has a % not followed by two hex digits");
  if (key->empty()) return invalidArn("the key is empty");
  if (key->size() > kMaxStreamKeyBytes) {
    return invalidArn("the key is longer than " + std::to_string(kMaxStreamKeyBytes) + " bytes");
  }
  arn.key = std::move(*key);
  return arn;
}

std::string formatStreamArn(const StreamArn& arn) {
  std::string out(kArnPrefix);
  out += arn.region;
  out += ':';
  out += arn.account;
  out += ':';
  out += kStreamResource;
  out += arn.host.find(':') == std::string::npos ? arn.host : "[" + arn.host + "]";
  out += ':';
  out += std::to_string(arn.port);
  out += '/';
  out += std::to_string(arn.db);
  out += '/';
  out += uriEncode(arn.key, /*keep_slash=*/false);
  return out;
}

asio::awaitable<Result<void>> selectDb(Client& client, uint32_t db) {
  // Named rather than braced in the call: GCC 12 rejects an initializer list in a co_await
  // expression ("array used as initializer"). Likewise below.
  std::vector<std::string> argv = {"SELECT", std::to_string(db)};
  Result<Reply> reply = co_await run(client, std::move(argv));
  if (!reply) co_return std::move(reply).error();
  if (reply->kind != Kind::kStatus || reply->str != "OK") {
    co_return unexpectedReply("SELECT", reply->describe());
  }
  co_return Result<void>{};
}

asio::awaitable<Result<std::vector<StreamEntry>>> readAfter(Client& client, std::string key,
                                                            StreamId after, uint32_t count,
                                                            std::chrono::milliseconds block) {
  if (count == 0) co_return makeError(ErrorCode::kInvalidParameter, "redis: XREAD: count is 0");
  std::vector<std::string> argv = {"XREAD", "COUNT", std::to_string(count)};
  block = std::max(block, std::chrono::milliseconds::zero());
  if (block > block.zero()) {
    argv.push_back("BLOCK");
    argv.push_back(std::to_string(block.count()));
  }
  argv.insert(argv.end(), {"STREAMS", key, after.toString()});
  Result<Reply> reply = co_await run(client, std::move(argv), kReplyTimeout + block);
  if (!reply) co_return std::move(reply).error();

  // nil, or [[key, entries]].
  if (reply->kind == Kind::kNil) co_return std::vector<StreamEntry>();
  if (reply->kind != Kind::kArray || reply->elements.size() != 1) {
    co_return unexpectedReply("XREAD", reply->describe());
  }
  Reply& stream = reply->elements[0];
  if (stream.kind != Kind::kArray || stream.elements.size() != 2) {
    co_return unexpectedReply("XREAD", "stream " + stream.describe());
  }
  if (stream.elements[0].kind != Kind::kString || stream.elements[0].str != key) {
    co_return unexpectedReply("XREAD", "stream name " + stream.elements[0].describe());
  }
  Result<std::vector<StreamEntry>> entries = parseEntries(stream.elements[1], "XREAD", count);
  if (!entries) co_return std::move(entries).error();
  StreamId previous = after;
  for (const StreamEntry& entry : *entries) {
    if (entry.id <= previous) {
      co_return unexpectedReply("XREAD",
                                "entry " + entry.id.toString() + " after " + previous.toString());
    }
    previous = entry.id;
  }
  co_return entries;
}

asio::awaitable<Result<StreamId>> lastId(Client& client, std::string key) {
  std::vector<std::string> argv = {"XREVRANGE", std::move(key), "+", "-", "COUNT", "1"};
  Result<std::optional<StreamId>> id = co_await onlyEntryId(client, std::move(argv));
  if (!id) co_return std::move(id).error();
  co_return id->value_or(StreamId{});
}

asio::awaitable<Result<std::optional<StreamId>>> firstId(Client& client, std::string key) {
  std::vector<std::string> argv = {"XRANGE", std::move(key), "-", "+", "COUNT", "1"};
  co_return co_await onlyEntryId(client, std::move(argv));
}

}  // namespace hearth::eventsources::redis
