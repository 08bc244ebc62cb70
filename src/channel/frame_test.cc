// Tests for the channel frame codec: exact byte layout, incremental decoding, every rejection
// rule of docs/formats/channel.md, and random corruption (never a crash, never an invented frame).
#include "channel/frame.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace hearth::channel {

// Equality for frames, for tests only.
bool operator==(const Invoke& a, const Invoke& b) {
  return a.request_id == b.request_id && a.deadline_ms == b.deadline_ms &&
         a.invoked_function_arn == b.invoked_function_arn && a.trace_id == b.trace_id &&
         a.client_context == b.client_context && a.cognito_identity == b.cognito_identity &&
         a.payload == b.payload;
}
bool operator==(const Response& a, const Response& b) {
  return a.request_id == b.request_id && a.payload == b.payload;
}
bool operator==(const FunctionError& a, const FunctionError& b) {
  return a.request_id == b.request_id && a.error_type == b.error_type && a.payload == b.payload;
}
bool operator==(const InitError& a, const InitError& b) {
  return a.error_type == b.error_type && a.payload == b.payload;
}
bool operator==(const Log& a, const Log& b) { return a.stream == b.stream && a.data == b.data; }
bool operator==(const Exit& a, const Exit& b) { return a.kind == b.kind && a.status == b.status; }
bool operator==(const Ready&, const Ready&) { return true; }

namespace {

std::vector<Frame> sampleFrames() {
  Invoke invoke;
  invoke.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
  invoke.deadline_ms = 1700000000123ull;
  invoke.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:echo";
  invoke.trace_id = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1";
  invoke.client_context = R"({"custom":{"k":"v"}})";
  invoke.cognito_identity = "";
  invoke.payload = std::string("{\"a\":1}\0binary\xff", 16);
  return {
      invoke,
      Response{"req-1", R"({"ok":true})"},
      FunctionError{"req-2", "Function.Unhandled", R"({"errorMessage":"boom"})"},
      FunctionError{"req-3", "", ""},
      InitError{"Runtime.ImportModuleError", R"({"errorMessage":"no module"})"},
      Log{LogStream::kStdout, "hello\n"},
      Log{LogStream::kStderr, std::string(70000, 'e')},
      Exit{ExitKind::kExited, 3},
      Exit{ExitKind::kSignaled, 9},
      Exit{ExitKind::kExited, -1},
      Ready{},
  };
}

std::string encodeAll(const std::vector<Frame>& frames) {
  std::string out;
  for (const Frame& f : frames) encode(f, out);
  return out;
}

std::vector<Frame> decodeAll(Decoder& d) {
  std::vector<Frame> frames;
  while (auto f = d.next()) frames.push_back(std::move(*f));
  return frames;
}

TEST(ChannelFrame, ByteLayoutMatchesTheFormatDocument) {
  std::string out;
  encode(Response{"ab", "xyz"}, out);
  const std::string expected(
      "\x0d\x00\x00\x00"  // body length 13 = 4+2 + 4+3
      "\x02\x00\x00\x00"  // type kResponse, reserved
      "\x02\x00\x00\x00" "ab"
      "\x03\x00\x00\x00" "xyz",
      8 + 13);
  EXPECT_EQ(out, expected);

  out.clear();
  encode(Exit{ExitKind::kSignaled, 9}, out);
  EXPECT_EQ(out, std::string("\x05\x00\x00\x00\x06\x00\x00\x00\x01\x09\x00\x00\x00", 13));

  out.clear();
  encode(Ready{}, out);
  EXPECT_EQ(out, std::string("\x00\x00\x00\x00\x07\x00\x00\x00", 8));

  out.clear();
  Invoke invoke;
  invoke.request_id = "r";
  invoke.deadline_ms = 0x0102030405060708ull;
  encode(invoke, out);
  // request_id, then the u64 deadline little-endian, then five empty strings.
  EXPECT_EQ(out.substr(8, 5 + 8), std::string("\x01\x00\x00\x00r\x08\x07\x06\x05\x04\x03\x02\x01",
                                               13));
  EXPECT_EQ(out.size(), 8u + 5 + 8 + 5 * 4);
}

TEST(ChannelFrame, RoundTripsEveryTypeFedOneByteAtATime) {
  const std::vector<Frame> frames = sampleFrames();
  const std::string wire = encodeAll(frames);

  Decoder d;
  std::vector<Frame> decoded;
  for (char c : wire) {
    d.feed(std::string_view(&c, 1));
    while (auto f = d.next()) decoded.push_back(std::move(*f));
  }
  EXPECT_FALSE(d.failed());
  EXPECT_EQ(decoded, frames);

  Decoder whole;
  whole.feed(wire);
  EXPECT_EQ(decodeAll(whole), frames);
  EXPECT_FALSE(whole.failed());
}

TEST(ChannelFrame, RejectsMalformedHeadersAndBodies) {
  std::string good;
  encode(Response{"id", "p"}, good);

  auto decodeFails = [](const std::string& wire) {
    Decoder d;
    d.feed(wire);
    const bool got = d.next().has_value();
    return !got && d.failed();
  };

  std::string bad_type = good;
  bad_type[4] = 9;
  EXPECT_TRUE(decodeFails(bad_type));
  bad_type[4] = 0;
  EXPECT_TRUE(decodeFails(bad_type));

  for (int i = 5; i < 8; ++i) {
    std::string reserved = good;
    reserved[i] = 1;
    EXPECT_TRUE(decodeFails(reserved)) << "reserved byte " << i;
  }

  // A header announcing more than kMaxBodyBytes fails at once, before any body arrives.
  const uint32_t too_big = kMaxBodyBytes + 1;
  std::string huge("\0\0\0\0\x02\0\0\0", 8);
  for (int i = 0; i < 4; ++i) huge[i] = static_cast<char>((too_big >> (8 * i)) & 0xff);
  EXPECT_TRUE(decodeFails(huge));

  // Body longer than its fields: a trailing byte counted in the length.
  std::string trailing = good;
  trailing[0] = static_cast<char>(trailing[0] + 1);
  trailing.push_back('x');
  EXPECT_TRUE(decodeFails(trailing));

  // Body shorter than its fields: the inner string length points past the body.
  std::string short_body = good;
  short_body[8] = 50;
  EXPECT_TRUE(decodeFails(short_body));

  // Ready must be empty; Log and Exit enums must be known values.
  EXPECT_TRUE(decodeFails(std::string("\x01\0\0\0\x07\0\0\0z", 9)));
  std::string log;
  encode(Log{LogStream::kStdout, "x"}, log);
  log[8] = 3;
  EXPECT_TRUE(decodeFails(log));
  std::string exit;
  encode(Exit{ExitKind::kExited, 0}, exit);
  exit[8] = 2;
  EXPECT_TRUE(decodeFails(exit));

  // Once failed, the decoder stays failed even if good bytes follow.
  Decoder d;
  d.feed(bad_type);
  EXPECT_FALSE(d.next());
  d.feed(good);
  EXPECT_FALSE(d.next());
  EXPECT_TRUE(d.failed());
}

TEST(ChannelFrame, IncompleteInputIsNotAFailure) {
  std::string wire;
  encode(Response{"id", std::string(1000, 'p')}, wire);
  Decoder d;
  d.feed(std::string_view(wire).substr(0, wire.size() - 1));
  EXPECT_FALSE(d.next());
  EXPECT_FALSE(d.failed());
  d.feed(std::string_view(wire).substr(wire.size() - 1));
  ASSERT_TRUE(d.next());
}

// Random corruptions: flip, overwrite, insert, delete bytes, truncate. Whatever comes out must be
// exactly what the bytes say: every decoded frame re-encodes to the input bytes at its position,
// so the decoder never invents, skips or misaligns a frame, and it never reads out of bounds
// (run under ASan with HEARTH_SANITIZE=ON).
TEST(ChannelFrame, RandomCorruptionNeverYieldsGarbage) {
  const std::string original = encodeAll(sampleFrames());
  std::mt19937 rng(20240607);
  int failures = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string wire = original;
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      const size_t pos = rng() % wire.size();
      switch (rng() % 5) {
        case 0: wire[pos] = static_cast<char>(wire[pos] ^ (1u << (rng() % 8))); break;
        case 1: wire[pos] = static_cast<char>(rng()); break;
        case 2: wire.insert(pos, 1, static_cast<char>(rng())); break;
        case 3: wire.erase(pos, 1); break;
        case 4: wire.resize(pos); break;
      }
      if (wire.empty()) wire = original.substr(0, 1);
    }

    Decoder d;
    size_t offset = 0;
    size_t fed = 0;
    while (fed < wire.size()) {
      const size_t n = std::min<size_t>(wire.size() - fed, 1 + rng() % 4096);
      d.feed(std::string_view(wire).substr(fed, n));
      fed += n;
      while (auto f = d.next()) {
        std::string again;
        encode(*f, again);
        ASSERT_LE(offset + again.size(), wire.size()) << "iteration " << iter;
        ASSERT_EQ(again, wire.substr(offset, again.size())) << "iteration " << iter;
        offset += again.size();
      }
    }
    if (d.failed()) ++failures;
    // Whatever was not decoded is an incomplete frame or the corrupt one; never a whole valid one.
    EXPECT_LE(offset, wire.size());
  }
  // Most corruptions are detected (the rest changed bytes inside strings).
  EXPECT_GT(failures, 300);
}

}  // namespace
}  // namespace hearth::channel
