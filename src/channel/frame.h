// The sandbox channel: length-prefixed binary frames between a worker (in hearthd) and
// hearth-init (PID 1 of an execution environment). Format: docs/formats/channel.md.
//
// This codec is pure: no I/O, no allocation beyond the decoded strings. Both ends use it; it is
// linked into the static hearth-init, so it depends on nothing but the C++ standard library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace hearth::channel {

inline constexpr size_t kHeaderBytes = 8;
// Largest body either end accepts: a 6 MiB payload (+100, as Lambda's limit) plus headers.
// A peer announcing more is broken or hostile; the receiver closes the channel.
inline constexpr uint32_t kMaxBodyBytes = 8u << 20;

enum class FrameType : uint8_t {
  kInvoke = 1,     // worker → init
  kResponse = 2,   // init → worker
  kError = 3,      // init → worker
  kInitError = 4,  // init → worker
  kLog = 5,        // init → worker
  kExit = 6,       // init → worker
  kReady = 7,      // init → worker
};

struct Invoke {
  std::string request_id;
  uint64_t deadline_ms = 0;  // Unix epoch milliseconds
  std::string invoked_function_arn;
  std::string trace_id;
  std::string client_context;    // decoded JSON text, or empty
  std::string cognito_identity;  // JSON text, or empty
  std::string payload;
};

struct Response {
  std::string request_id;
  std::string payload;
};

struct FunctionError {  // FrameType::kError
  std::string request_id;
  std::string error_type;  // Lambda-Runtime-Function-Error-Type header, or empty
  std::string payload;     // the body the runtime posted (JSON, by convention)
};

struct InitError {
  std::string error_type;
  std::string payload;
};

enum class LogStream : uint8_t { kStdout = 1, kStderr = 2 };

struct Log {
  LogStream stream = LogStream::kStdout;
  std::string data;
};

enum class ExitKind : uint8_t { kExited = 0, kSignaled = 1 };

struct Exit {
  ExitKind kind = ExitKind::kExited;
  int32_t status = 0;  // exit code, or signal number
};

struct Ready {};

using Frame = std::variant<Invoke, Response, FunctionError, InitError, Log, Exit, Ready>;

// Appends the encoded frame (header + body) to `out`.
void encode(const Frame& frame, std::string& out);

// Incremental decoder: feed bytes as they arrive, take frames as they complete.
//
//   Decoder d;
//   d.feed(buf, n);
//   while (auto f = d.next()) handle(*f);
//   if (d.failed()) closeChannel();
//
// Not thread-safe.
class Decoder {
 public:
  void feed(std::string_view bytes);
  // The next complete frame, or nullopt if more bytes are needed or the stream is corrupt.
  std::optional<Frame> next();
  // True once a malformed header or body was seen; every later next() returns nullopt.
  bool failed() const { return failed_; }

 private:
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ already decoded
  bool failed_ = false;
};

}  // namespace hearth::channel
