// The keyring: the master keys that wrap every code object's data key, and the secret from
// which each salt scope's chunk salt is derived (docs/formats/code-tree.md, "Keyring").
//
// It is one JSON file, mode 0600, by default <data-dir>/keyring; whoever holds it can read all
// code, so an installation that wants a stolen data directory to reveal nothing keeps it
// elsewhere (hearthd --code-keyring). Rotation adds a master key and makes it current; data keys
// are re-wrapped by the code store (its index holds them), chunks are never touched, and keys
// that nothing uses any more are then dropped.
//
// Thread-safety: const methods may run concurrently; addKey() and dropKeysExcept() need
// exclusive access (the code store calls them under its own lock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth::codestore {

struct WrappedKey {
  uint32_t key_id = 0;  // which master key
  std::string sealed;   // AES-256-GCM of the data key under it (nonce ‖ ciphertext ‖ tag)
};

class Keyring {
 public:
  // Reads the keyring at `path`, or creates one (a random master key and salt secret) if there
  // is none. kCorrupt if it exists but is malformed; kIo for host failures.
  static Result<Keyring> openOrCreate(const std::filesystem::path& path);

  // The 32-byte chunk salt of a scope: HMAC-SHA-256(salt secret, "hearth-scope\0" ‖ scope).
  std::string scopeSalt(std::string_view scope) const;

  // Wraps `data_key` under the current master key, binding `aad` (the object id).
  WrappedKey wrap(std::string_view data_key, std::string_view aad) const;
  // kCorrupt if the master key is unknown or the tag does not verify.
  Result<std::string> unwrap(const WrappedKey& wrapped, std::string_view aad) const;

  uint32_t currentKeyId() const { return current_; }
  std::set<uint32_t> keyIds() const;

  // Adds a fresh master key, makes it current and writes the keyring durably.
  Result<void> addKey();
  // Drops every master key except the current one and those in `in_use`; writes durably.
  Result<void> dropKeysExcept(const std::set<uint32_t>& in_use);

 private:
  Keyring(std::filesystem::path path) : path_(std::move(path)) {}
  Result<void> save() const;

  std::filesystem::path path_;
  std::string salt_secret_;
  std::map<uint32_t, std::string> master_keys_;  // id -> 32-byte key
  uint32_t current_ = 0;
};

}  // namespace hearth::codestore
