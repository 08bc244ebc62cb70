#include "common/ids.h"

#include "common/crypto.h"
#include "common/encoding.h"

namespace hearth {

std::string newUuid() {
  std::string b = randomBytes(16);
  b[6] = char((uint8_t(b[6]) & 0x0f) | 0x40);
  b[8] = char((uint8_t(b[8]) & 0x3f) | 0x80);
  std::string h = hexEncode(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

std::string randomHex(size_t bytes) { return hexEncode(randomBytes(bytes)); }

}  // namespace hearth
