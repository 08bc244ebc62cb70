// Fuzzes the sandbox channel decoder (src/channel/frame.h) with the bytes a hostile guest could
// write to its end of the channel, fed in fuzzer-chosen pieces.
//
// Properties checked (docs/formats/channel.md):
//   - every decoded frame re-encodes to exactly the bytes it was decoded from, in stream order;
//   - how the stream is split into feed() calls changes nothing: a second decoder fed the whole
//     stream at once returns as many frames and ends in the same failed() state;
//   - a decoder that has not failed never sits on a complete frame: what is left is a partial
//     header or a header announcing more body than has arrived;
//   - a failed decoder returns no more frames.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "channel/frame.h"

namespace {

using hearth::channel::Decoder;
using hearth::channel::encode;
using hearth::channel::Frame;
using hearth::channel::kHeaderBytes;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

uint32_t bodyLength(const char* header) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(header[i])) << (8 * i);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  // The split points come from the end of the input, the stream bytes from the front.
  std::vector<std::string> chunks;
  while (fdp.remaining_bytes() > 0) {
    const size_t n = fdp.ConsumeIntegralInRange<size_t>(0, fdp.remaining_bytes());
    chunks.push_back(fdp.ConsumeBytesAsString(n));
  }

  std::string stream;
  Decoder decoder;
  size_t offset = 0;  // where the next frame must start in `stream`
  size_t frames = 0;
  std::string encoded;
  for (const std::string& chunk : chunks) {
    stream += chunk;
    decoder.feed(chunk);
    while (std::optional<Frame> frame = decoder.next()) {
      require(!decoder.failed());
      encoded.clear();
      encode(*frame, encoded);
      require(encoded.size() <= stream.size() - offset);
      require(std::memcmp(encoded.data(), stream.data() + offset, encoded.size()) == 0);
      offset += encoded.size();
      ++frames;
    }
  }
  if (decoder.failed()) {
    require(!decoder.next().has_value());
  } else {
    const size_t rest = stream.size() - offset;
    require(rest < kHeaderBytes || bodyLength(stream.data() + offset) > rest - kHeaderBytes);
  }

  Decoder whole;
  whole.feed(stream);
  size_t whole_frames = 0;
  while (whole.next()) ++whole_frames;
  require(whole_frames == frames);
  require(whole.failed() == decoder.failed());
  return 0;
}
