#include "codestore/keyring.h"

#include <nlohmann/json.hpp>

#include "codestore/cipher.h"
#include "codestore/fs_util.h"
#include "common/crypto.h"
#include "common/encoding.h"

namespace hearth::codestore {
namespace {

constexpr int kKeyringFormat = 1;

Error malformed(const std::filesystem::path& path, std::string_view why) {
  return makeError(ErrorCode::kCorrupt,
                   "keyring " + path.string() + " is malformed: " + std::string(why));
}

Result<std::string> decodeKey(const nlohmann::json& j, const std::filesystem::path& path) {
  if (!j.is_string()) return malformed(path, "a key is not a string");
  std::optional<std::string> key = base64Decode(j.get<std::string>());
  if (!key || key->size() != kKeyBytes) return malformed(path, "a key is not 32 bytes of base64");
  return *key;
}

}  // namespace

Result<Keyring> Keyring::openOrCreate(const std::filesystem::path& path) {
  Keyring ring(path);
  Result<std::string> text = readFile(path);
  if (!text && text.error().code == ErrorCode::kNotFound) {
    ring.salt_secret_ = randomBytes(kKeyBytes);
    ring.current_ = 1;
    ring.master_keys_[1] = randomBytes(kKeyBytes);
    HEARTH_TRY(ring.save());
    return ring;
  }
  if (!text) return text.error();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("format", 0) != kKeyringFormat) {
    return malformed(path, "not a format-1 keyring");
  }
  if (!j.contains("salt_secret") || !j["current"].is_number_unsigned() ||
      !j["master_keys"].is_array()) {
    return malformed(path, "missing fields");
  }
  Result<std::string> salt = decodeKey(j["salt_secret"], path);
  if (!salt) return salt.error();
  ring.salt_secret_ = std::move(*salt);
  ring.current_ = j["current"].get<uint32_t>();
  for (const nlohmann::json& k : j["master_keys"]) {
    if (!k.is_object() || !k["id"].is_number_unsigned()) return malformed(path, "bad master key");
    Result<std::string> key = decodeKey(k["key"], path);
    if (!key) return key.error();
    ring.master_keys_[k["id"].get<uint32_t>()] = std::move(*key);
  }
  if (!ring.master_keys_.count(ring.current_)) return malformed(path, "no current master key");
  return ring;
}

Result<void> Keyring::save() const {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& [id, key] : master_keys_)
    keys.push_back({{"id", id}, {"key", base64Encode(key)}});
  nlohmann::json j = {{"format", kKeyringFormat},
                      {"salt_secret", base64Encode(salt_secret_)},
                      {"current", current_},
                      {"master_keys", std::move(keys)}};
  return writeFileDurably(path_, j.dump(1) + "\n", 0600);
}

std::string Keyring::scopeSalt(std::string_view scope) const {
  std::string input = "hearth-scope";
  input.push_back('\0');
  input += scope;
  Sha256Digest d = hmacSha256(salt_secret_, input);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

WrappedKey Keyring::wrap(std::string_view data_key, std::string_view aad) const {
  return {current_, aes256GcmSeal(master_keys_.at(current_), aad, data_key)};
}

Result<std::string> Keyring::unwrap(const WrappedKey& wrapped, std::string_view aad) const {
  auto it = master_keys_.find(wrapped.key_id);
  if (it == master_keys_.end()) {
    return makeError(ErrorCode::kCorrupt, "data key wrapped by master key " +
                                              std::to_string(wrapped.key_id) +
                                              ", which the keyring does not hold");
  }
  return aes256GcmOpen(it->second, aad, wrapped.sealed, "wrapped data key");
}

std::set<uint32_t> Keyring::keyIds() const {
  std::set<uint32_t> ids;
  for (const auto& [id, key] : master_keys_) ids.insert(id);
  return ids;
}

Result<void> Keyring::addKey() {
  uint32_t id = master_keys_.rbegin()->first + 1;
  master_keys_[id] = randomBytes(kKeyBytes);
  uint32_t previous = current_;
  current_ = id;
  Result<void> saved = save();
  if (!saved) {
    master_keys_.erase(id);
    current_ = previous;
  }
  return saved;
}

Result<void> Keyring::dropKeysExcept(const std::set<uint32_t>& in_use) {
  std::map<uint32_t, std::string> kept;
  for (auto& [id, key] : master_keys_) {
    if (id == current_ || in_use.count(id)) kept[id] = key;
  }
  if (kept.size() == master_keys_.size()) return {};
  std::swap(kept, master_keys_);
  Result<void> saved = save();
  if (!saved) std::swap(kept, master_keys_);
  return saved;
}

}  // namespace hearth::codestore
