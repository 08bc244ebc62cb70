#include "codestore/chunker.h"

#include <array>
#include <bit>
#include <cstdint>

namespace hearth::codestore {
namespace {

// The gear table: 256 values of SplitMix64 from seed 0x4845415254484344 ("HEARTHCD").
constexpr std::array<uint64_t, 256> makeGear() {
  std::array<uint64_t, 256> gear{};
  uint64_t state = 0x4845415254484344ULL;
  for (uint64_t& g : gear) {
    state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    g = z ^ (z >> 31);
  }
  return gear;
}
constexpr std::array<uint64_t, 256> kGear = makeGear();

// A mask of `bits` ones in the fingerprint's top bits: the gear hash shifts left, so its top
// bits depend on the last 64 bytes and the low bits on fewer.
constexpr uint64_t topMask(int bits) { return bits <= 0 ? 0 : ~uint64_t{0} << (64 - bits); }

// Normalisation level 2: harder to cut before the average, easier after.
constexpr int kNormalisation = 2;

}  // namespace

size_t firstChunkLength(std::string_view data, const ChunkerParams& params) {
  const size_t n = data.size();
  if (n <= params.min_bytes) return n;
  const int bits = std::countr_zero(params.avg_bytes);
  const uint64_t mask_small = topMask(bits + kNormalisation);
  const uint64_t mask_large = topMask(bits - kNormalisation);
  const size_t normal = std::min(n, params.avg_bytes);
  const size_t end = std::min(n, params.max_bytes);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  uint64_t fp = 0;
  size_t i = params.min_bytes;
  for (; i < normal; ++i) {
    fp = (fp << 1) + kGear[p[i]];
    if ((fp & mask_small) == 0) return i + 1;
  }
  for (; i < end; ++i) {
    fp = (fp << 1) + kGear[p[i]];
    if ((fp & mask_large) == 0) return i + 1;
  }
  return end;
}

}  // namespace hearth::codestore
