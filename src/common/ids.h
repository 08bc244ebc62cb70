// Identifiers: request ids (UUID v4, as Lambda's), revision ids, and random hex tokens.
#pragma once

#include <string>

namespace hearth {

// "8c1b4a9e-6f1d-4c2a-9d2e-0b7a3c5e1f42": random, version 4, lowercase.
std::string newUuid();

// `bytes` random bytes as lowercase hex.
std::string randomHex(size_t bytes);

}  // namespace hearth
