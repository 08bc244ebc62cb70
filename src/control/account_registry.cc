#include "control/account_registry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/crypto.h"
#include "common/unique_fd.h"

namespace hearth::control {
namespace {

constexpr char kKeyAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr char kSecretAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// `n` characters drawn uniformly from `alphabet` (whose size divides 256).
std::string randomString(size_t n, std::string_view alphabet) {
  std::string bytes = randomBytes(n);
  std::string out;
  for (unsigned char c : bytes) out.push_back(alphabet[c % alphabet.size()]);
  return out;
}

std::string randomAccountId() {
  std::string bytes = randomBytes(12);
  std::string out;
  for (unsigned char c : bytes) out.push_back(char('0' + c % 10));
  if (out[0] == '0') out[0] = '1';
  return out;
}

bool isValidAccountName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

AccountRegistry::AccountRegistry(store::MetadataStore& store) : store_(store) {}

Result<void> AccountRegistry::load() {
  std::lock_guard lock(mu_);
  return reloadLocked();
}

Result<void> AccountRegistry::reloadLocked() {
  Result<std::vector<store::Account>> accounts = store_.listAccounts();
  if (!accounts) return accounts.error();
  by_key_.clear();
  for (store::Account& a : *accounts) by_key_[a.access_key_id] = std::move(a);
  if (Result<uint64_t> version = store_.dataVersion(); version) data_version_ = *version;
  return {};
}

std::optional<store::Account> AccountRegistry::lookup(const std::string& access_key_id) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(access_key_id);
  if (it != by_key_.end()) return it->second;
  // Unknown: another process (hearthd account create) may have added it. Reload only when the
  // store changed, so a client spraying random keys costs a counter read, not a table scan.
  Result<uint64_t> version = store_.dataVersion();
  if (!version || *version == data_version_) return std::nullopt;
  if (!reloadLocked()) return std::nullopt;
  it = by_key_.find(access_key_id);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

std::optional<store::Account> AccountRegistry::findByName(const std::string& name) {
  std::lock_guard lock(mu_);
  for (const auto& [key, account] : by_key_) {
    if (account.name == name) return account;
  }
  return std::nullopt;
}

Result<store::Account> AccountRegistry::create(
    const std::string& name, std::optional<std::pair<std::string, std::string>> keys) {
  if (!isValidAccountName(name)) {
    return makeError(ErrorCode::kInvalidParameter,
                     "account name must be 1-64 characters of [A-Za-z0-9_-]: " + name);
  }
  store::Account a;
  a.account_id = randomAccountId();
  a.name = name;
  if (keys) {
    a.access_key_id = keys->first;
    a.secret_access_key = keys->second;
  } else {
    a.access_key_id = "AKIA" + randomString(16, kKeyAlphabet);
    a.secret_access_key = randomString(40, kSecretAlphabet);
  }
  std::lock_guard lock(mu_);
  HEARTH_TRY(store_.createAccount(a));
  by_key_[a.access_key_id] = a;
  return a;
}

Result<void> writeCredentialsFile(const std::string& path, const std::string& profile,
                                  const store::Account& account) {
  std::string tmp = path + ".tmp";
  // SAFETY: plain open of a path we own; O_EXCL-free so a stale tmp from a crash is replaced.
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return errnoError("open " + tmp, errno);
  std::string text = "[" + profile + "]\naws_access_key_id = " + account.access_key_id +
                     "\naws_secret_access_key = " + account.secret_access_key + "\n";
  // SAFETY: writes from a live std::string buffer of the stated size.
  if (::fchmod(fd.get(), 0600) != 0 ||
      ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd.get()) != 0) {
    return errnoError("write " + tmp, errno);
  }
  // SAFETY: rename within one directory we own replaces the file atomically.
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errnoError("rename " + path, errno);
  return {};
}

}  // namespace hearth::control
