// Channel frame codec. The byte layout is specified in docs/formats/channel.md; this file is
// the only implementation of it and must stay in step with that document.
#include "channel/frame.h"

#include "common/check.h"  // header-only: keeps this library free of link dependencies

namespace hearth::channel {
namespace {

// --- Encoding -------------------------------------------------------------------------------

void putU32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 4);
}

void putU64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 8);
}

void putBytes(std::string& out, std::string_view s) {
  putU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

void putU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

// Appends the body of each frame kind; returns its FrameType.
FrameType encodeBody(const Invoke& f, std::string& out) {
  putBytes(out, f.request_id);
  putU64(out, f.deadline_ms);
  putBytes(out, f.invoked_function_arn);
  putBytes(out, f.trace_id);
  putBytes(out, f.client_context);
  putBytes(out, f.cognito_identity);
  putBytes(out, f.payload);
  return FrameType::kInvoke;
}
FrameType encodeBody(const Response& f, std::string& out) {
  putBytes(out, f.request_id);
  putBytes(out, f.payload);
  return FrameType::kResponse;
}
FrameType encodeBody(const FunctionError& f, std::string& out) {
  putBytes(out, f.request_id);
  putBytes(out, f.error_type);
  putBytes(out, f.payload);
  return FrameType::kError;
}
FrameType encodeBody(const InitError& f, std::string& out) {
  putBytes(out, f.error_type);
  putBytes(out, f.payload);
  return FrameType::kInitError;
}
FrameType encodeBody(const Log& f, std::string& out) {
  putU8(out, static_cast<uint8_t>(f.stream));
  putBytes(out, f.data);
  return FrameType::kLog;
}
FrameType encodeBody(const Exit& f, std::string& out) {
  putU8(out, static_cast<uint8_t>(f.kind));
  putU32(out, static_cast<uint32_t>(f.status));
  return FrameType::kExit;
}
FrameType encodeBody(const Ready&, std::string&) { return FrameType::kReady; }

// --- Decoding -------------------------------------------------------------------------------

uint32_t loadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// Reads fields from one frame body. Every read checks the remaining length; a short body sets
// ok_ to false and later reads return defaults, so callers check ok() once at the end.
class BodyReader {
 public:
  explicit BodyReader(std::string_view body) : rest_(body) {}

  bool ok() const { return ok_; }
  // True when every field was read and nothing is left over.
  bool exhausted() const { return ok_ && rest_.empty(); }

  uint8_t u8() {
    if (!take(1)) return 0;
    return static_cast<uint8_t>(last_[0]);
  }
  uint32_t u32() {
    if (!take(4)) return 0;
    return loadU32(last_);
  }
  uint64_t u64() {
    if (!take(8)) return 0;
    return static_cast<uint64_t>(loadU32(last_)) | static_cast<uint64_t>(loadU32(last_ + 4)) << 32;
  }
  std::string bytes() {
    const uint32_t n = u32();
    if (!take(n)) return {};
    return std::string(last_, n);
  }

 private:
  bool take(size_t n) {
    if (!ok_ || rest_.size() < n) {
      ok_ = false;
      return false;
    }
    last_ = rest_.data();
    rest_.remove_prefix(n);
    return true;
  }

  std::string_view rest_;
  const char* last_ = nullptr;
  bool ok_ = true;
};

std::optional<Frame> decodeBody(FrameType type, std::string_view body) {
  BodyReader r(body);
  Frame frame;
  switch (type) {
    case FrameType::kInvoke: {
      Invoke f;
      f.request_id = r.bytes();
      f.deadline_ms = r.u64();
      f.invoked_function_arn = r.bytes();
      f.trace_id = r.bytes();
      f.client_context = r.bytes();
      f.cognito_identity = r.bytes();
      f.payload = r.bytes();
      frame = std::move(f);
      break;
    }
    case FrameType::kResponse: {
      Response f;
      f.request_id = r.bytes();
      f.payload = r.bytes();
      frame = std::move(f);
      break;
    }
    case FrameType::kError: {
      FunctionError f;
      f.request_id = r.bytes();
      f.error_type = r.bytes();
      f.payload = r.bytes();
      frame = std::move(f);
      break;
    }
    case FrameType::kInitError: {
      InitError f;
      f.error_type = r.bytes();
      f.payload = r.bytes();
      frame = std::move(f);
      break;
    }
    case FrameType::kLog: {
      Log f;
      const uint8_t stream = r.u8();
      if (stream != static_cast<uint8_t>(LogStream::kStdout) &&
          stream != static_cast<uint8_t>(LogStream::kStderr)) {
        return std::nullopt;
      }
      f.stream = static_cast<LogStream>(stream);
      f.data = r.bytes();
      frame = std::move(f);
      break;
    }
    case FrameType::kExit: {
      Exit f;
      const uint8_t kind = r.u8();
      if (kind != static_cast<uint8_t>(ExitKind::kExited) &&
          kind != static_cast<uint8_t>(ExitKind::kSignaled)) {
        return std::nullopt;
      }
      f.kind = static_cast<ExitKind>(kind);
      f.status = static_cast<int32_t>(r.u32());
      frame = f;
      break;
    }
    case FrameType::kReady:
      frame = Ready{};
      break;
    default:
      return std::nullopt;
  }
  if (!r.exhausted()) return std::nullopt;
  return frame;
}

// A buffer grown past this for one large frame is given back once drained, so an idle endpoint
// does not keep a payload's worth of memory resident.
constexpr size_t kRetainBytes = 1 << 20;

bool knownType(uint8_t t) {
  return t >= static_cast<uint8_t>(FrameType::kInvoke) && t <= static_cast<uint8_t>(FrameType::kReady);
}

}  // namespace

void encode(const Frame& frame, std::string& out) {
  const size_t header_at = out.size();
  out.append(kHeaderBytes, '\0');
  const FrameType type = std::visit([&out](const auto& f) { return encodeBody(f, out); }, frame);
  const size_t body_len = out.size() - header_at - kHeaderBytes;
  // Invariant: callers never build a frame larger than the peer accepts (payloads are capped at
  // the Runtime API and the frontend below kMaxBodyBytes).
  CHECK(body_len <= kMaxBodyBytes);
  char* h = out.data() + header_at;
  for (int i = 0; i < 4; ++i) h[i] = static_cast<char>((body_len >> (8 * i)) & 0xff);
  h[4] = static_cast<char>(type);
}

void Decoder::feed(std::string_view bytes) {
  if (failed_) return;
  // Drop what is already decoded before growing, so the buffer holds at most one partial frame
  // plus the new bytes.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<Frame> Decoder::next() {
  if (failed_) return std::nullopt;
  const size_t available = buffer_.size() - consumed_;
  if (available < kHeaderBytes) return std::nullopt;
  const char* h = buffer_.data() + consumed_;
  const uint32_t body_len = loadU32(h);
  const uint8_t type = static_cast<uint8_t>(h[4]);
  if (body_len > kMaxBodyBytes || !knownType(type) || h[5] != 0 || h[6] != 0 || h[7] != 0) {
    failed_ = true;
    return std::nullopt;
  }
  if (available - kHeaderBytes < body_len) return std::nullopt;
  std::optional<Frame> frame = decodeBody(
      static_cast<FrameType>(type), std::string_view(h + kHeaderBytes, body_len));
  if (!frame) {
    failed_ = true;
    return std::nullopt;
  }
  consumed_ += kHeaderBytes + body_len;
  if (consumed_ == buffer_.size()) {
    if (buffer_.capacity() > kRetainBytes) {
      std::string().swap(buffer_);
    } else {
      buffer_.clear();
    }
    consumed_ = 0;
  }
  return frame;
}

}  // namespace hearth::channel
