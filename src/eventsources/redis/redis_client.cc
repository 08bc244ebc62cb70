#include "eventsources/redis/redis_client.h"

#include <hiredis/hiredis.h>

#include <optional>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/check.h"

namespace hearth::eventsources::redis {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kExcerptBytes = 64;
// Charged against a reply's limit for each value in it, on top of the bytes received: the Reply
// and the spare capacity its parent's vector may hold for it.
constexpr size_t kValueCharge = 2 * sizeof(Reply);
// An upper bound on what RESP adds to each argument ("$<length>\r\n...\r\n").
constexpr size_t kArgumentOverhead = 32;

Error ioError(std::string_view what, const boost::system::error_code& ec) {
  return makeError(ErrorCode::kIo, "redis: " + std::string(what) + ": " + ec.message());
}

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// Whether the operation a coroutine is part of was cancelled; see withTimeout.
bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

std::string excerpt(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, kExcerptBytes)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += "\\x";
      out += "0123456789abcdef"[c >> 4];
      out += "0123456789abcdef"[c & 0xf];
    }
  }
  out += '"';
  if (s.size() > kExcerptBytes) out += "...";
  return out;
}

// Runs `op` for at most `timeout`; nullopt if the timer won. On expiry `op` gets a terminal
// cancellation, and the race waits for it to finish (every operation we race honours it). A
// coroutine raced here checks its cancellation state before each operation it starts: one
// started after the cancellation was delivered would not see it.
template <typename T>
asio::awaitable<std::optional<T>> withTimeout(asio::awaitable<T> op,
                                              std::chrono::milliseconds timeout) {
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  std::variant<T, std::tuple<boost::system::error_code>> first =
      co_await (std::move(op) || timer.async_wait(kNoThrow));
  if (first.index() != 0) co_return std::nullopt;
  co_return std::get<0>(std::move(first));
}

}  // namespace

std::string Reply::describe() const {
  switch (kind) {
    case Kind::kNil:
      return "nil";
    case Kind::kInteger:
      return "integer " + std::to_string(integer);
    case Kind::kStatus:
      return "status " + excerpt(str);
    case Kind::kString:
      return "string " + excerpt(str);
    case Kind::kError:
      return "error " + excerpt(str);
    case Kind::kArray:
      return "array of " + std::to_string(elements.size());
  }
  return "unknown kind";
}

// The hiredis reader of one connection and the reply it is building. Its callbacks
// (redisReaderCreateWithFunctions) build Reply values directly instead of hiredis's redisReply
// tree, so each value is charged against the limit as it is created, before a hostile array
// header can make us allocate for elements that never arrive, and no hiredis object is left to
// free.
class Client::Parser {
 public:
  explicit Parser(size_t max_bytes) : max_bytes_(max_bytes) {
    reader_ = redisReaderCreateWithFunctions(&kFunctions);
    CHECK(reader_ != nullptr);
    reader_->privdata = this;
  }
  ~Parser() { redisReaderFree(reader_); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Feeds bytes received from the server. Returns the reply once complete, nullopt while more
  // bytes are needed, or an Error (kIo) for a malformed or oversized reply or for bytes after
  // it; a Parser that returned an Error is not used again.
  Result<std::optional<Reply>> feed(std::string_view bytes) {
    received_ += bytes.size();
    if (received_ > max_bytes_) return overLimit();
    void* done = nullptr;
    if (redisReaderFeed(reader_, bytes.data(), bytes.size()) != REDIS_OK ||
        redisReaderGetReply(reader_, &done) != REDIS_OK) {
      if (over_limit_) return overLimit();
      return makeError(ErrorCode::kIo,
                       std::string("redis: bad reply: ") + redisReaderGetError(reader_));
    }
    if (done == nullptr) return std::optional<Reply>();
    CHECK(done == root_.get());
    // Requests are not pipelined, so the server has nothing more to say until the next one.
    if (reader_->pos != reader_->len) {
      return makeError(ErrorCode::kIo, "redis: unsolicited data after a reply");
    }
    received_ = 0;
    std::optional<Reply> reply(std::move(*root_));
    root_.reset();
    return reply;
  }

 private:
  Error overLimit() const {
    return makeError(ErrorCode::kIo, "redis: reply larger than the limit of " +
                                         std::to_string(max_bytes_) + " bytes");
  }

  // Puts `value` into the reply under construction: as its root, or as the next element of the
  // array its task's parent is reading. Returns where it now lives, or null (hiredis then fails
  // the reply) once the reply is over the limit.
  static void* place(const redisReadTask* task, Reply value) {
    // SAFETY: hiredis copies the reader's privdata, set to the owning Parser in its
    // constructor, into every task; the Parser outlives its reader.
    auto* self = static_cast<Parser*>(task->privdata);
    self->received_ += kValueCharge;
    if (self->received_ > self->max_bytes_) {
      self->over_limit_ = true;
      return nullptr;
    }
    if (task->parent == nullptr) {
      self->root_ = std::make_unique<Reply>(std::move(value));
      return self->root_.get();
    }
    // SAFETY: a parent task's obj is what place() returned for that array, and it has not moved
    // since: hiredis reads depth first, so only the innermost open array's vector grows.
    auto* parent = static_cast<Reply*>(task->parent->obj);
    parent->elements.push_back(std::move(value));
    return &parent->elements.back();
  }

  static void* createString(const redisReadTask* task, char* data, size_t size) {
    Reply r;
    r.kind = task->type == REDIS_REPLY_ERROR    ? Reply::Kind::kError
             : task->type == REDIS_REPLY_STATUS ? Reply::Kind::kStatus
                                                : Reply::Kind::kString;
    r.str.assign(data, size);
    return place(task, std::move(r));
  }
  static void* createArray(const redisReadTask* task, int /*elements*/) {
    // Not reserved: the count is the server's claim; elements are charged as they arrive.
    Reply r;
    r.kind = Reply::Kind::kArray;
    return place(task, std::move(r));
  }
  static void* createInteger(const redisReadTask* task, long long value) {
    Reply r;
    r.kind = Reply::Kind::kInteger;
    r.integer = value;
    return place(task, std::move(r));
  }
  static void* createNil(const redisReadTask* task) { return place(task, Reply{}); }

  // freeObject is null: every value belongs to root_, which the Parser frees itself.
  static inline redisReplyObjectFunctions kFunctions = {createString, createArray, createInteger,
                                                        createNil, nullptr};

  redisReader* reader_;
  std::unique_ptr<Reply> root_;  // the reply being read
  const size_t max_bytes_;
  size_t received_ = 0;  // charged to the reply being read: bytes received, kValueCharge per value
  bool over_limit_ = false;
};

Client::Client(asio::any_io_executor executor, size_t max_reply_bytes)
    : socket_(std::move(executor)), max_reply_bytes_(max_reply_bytes) {}

Client::~Client() = default;

void Client::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  parser_.reset();
}

asio::awaitable<Result<void>> Client::connect(std::string host, uint16_t port,
                                              std::chrono::milliseconds timeout) {
  CHECK(!busy_);
  close();
  std::string where = "connect " + (host.find(':') == std::string::npos ? host : "[" + host + "]") +
                      ":" + std::to_string(port);
  std::optional<Result<void>> opened =
      co_await withTimeout(open(std::move(host), port, where), timeout);
  if (!opened) {
    opened = makeError(ErrorCode::kIo, "redis: " + where + ": timed out after " + millis(timeout));
  }
  if (!*opened) {
    close();
    co_return std::move(*opened);
  }
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  parser_ = std::make_unique<Parser>(max_reply_bytes_);
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Client::open(std::string host, uint16_t port, std::string where) {
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code ec;
  if (asio::ip::address literal = asio::ip::make_address(host, ec); !ec) {
    endpoints.emplace_back(literal, port);
  } else {
    tcp::resolver resolver(socket_.get_executor());
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port),
                                                          tcp::resolver::numeric_service, kNoThrow);
    if (rec) co_return ioError("resolve " + host, rec);
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    if (cancelled(co_await asio::this_coro::cancellation_state)) {
      co_return makeError(ErrorCode::kIo, "redis: " + where + ": cancelled");
    }
  }
  auto [cec, endpoint] = co_await asio::async_connect(socket_, endpoints, kNoThrow);
  if (cec) co_return ioError(where, cec);
  co_return Result<void>{};
}

asio::awaitable<Result<Reply>> Client::command(std::vector<std::string> argv,
                                               std::chrono::milliseconds timeout) {
  CHECK(!argv.empty() && !busy_);
  if (!isOpen()) co_return makeError(ErrorCode::kIo, "redis: " + argv[0] + ": not connected");
  std::vector<const char*> data;
  std::vector<size_t> sizes;
  size_t encoded = 0;
  for (const std::string& arg : argv) {
    data.push_back(arg.data());
    sizes.push_back(arg.size());
    encoded += arg.size() + kArgumentOverhead;
  }
  if (encoded > kMaxCommandBytes) {
    co_return makeError(ErrorCode::kInvalidParameter,
                        "redis: " + argv[0] + ": command larger than " +
                            std::to_string(kMaxCommandBytes) + " bytes");
  }
  char* raw = nullptr;
  // SAFETY: data and sizes describe argv's strings, alive for the call; the encoded size is
  // checked above to stay far below INT_MAX, so hiredis's int lengths cannot overflow.
  const int size =
      redisFormatCommandArgv(&raw, static_cast<int>(argv.size()), data.data(), sizes.data());
  CHECK(size > 0);  // it fails only when it cannot allocate
  std::unique_ptr<char, void (*)(char*)> request(raw, redisFreeCommand);

  busy_ = true;
  std::optional<Result<Reply>> reply =
      co_await withTimeout(exchange(request.get(), static_cast<size_t>(size)), timeout);
  busy_ = false;
  if (!reply) {
    reply = makeError(ErrorCode::kIo, "redis: " + argv[0] + ": no reply within " + millis(timeout));
  }
  if (!*reply) close();
  co_return std::move(*reply);
}

asio::awaitable<Result<Reply>> Client::exchange(const char* request, size_t size) {
  auto [wec, written] = co_await asio::async_write(socket_, asio::buffer(request, size), kNoThrow);
  if (wec) co_return ioError("write", wec);
  for (;;) {
    if (cancelled(co_await asio::this_coro::cancellation_state)) {
      co_return makeError(ErrorCode::kIo, "redis: cancelled");
    }
    auto [rec, n] = co_await socket_.async_read_some(asio::buffer(chunk_), kNoThrow);
    if (rec == asio::error::eof) {
      co_return makeError(ErrorCode::kIo, "redis: connection closed by the server");
    }
    if (rec) co_return ioError("read", rec);
    Result<std::optional<Reply>> reply = parser_->feed(std::string_view(chunk_.data(), n));
    if (!reply) co_return std::move(reply).error();
    if (*reply) co_return std::move(**reply);
  }
}

}  // namespace hearth::eventsources::redis
