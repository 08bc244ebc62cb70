// Accounts (tenants) and their keys. Every API request is signed with an account's key; the
// account then scopes everything the request can see.
//
// Thread-safety: all methods are safe from any thread. lookup() is on the request path: an
// in-memory map, refreshed from the store when an unknown key arrives and the store changed
// since the last load, so accounts created by `hearthd account create` while the daemon runs
// are usable at once.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "store/metadata_store.h"

namespace hearth::control {

class AccountRegistry {
 public:
  explicit AccountRegistry(store::MetadataStore& store);

  Result<void> load();

  // The account owning `access_key_id`, if any.
  std::optional<store::Account> lookup(const std::string& access_key_id);

  // Creates an account with fresh keys (or the given ones). kConflict if the name is taken;
  // kInvalidParameter for a bad name.
  Result<store::Account> create(const std::string& name,
                                std::optional<std::pair<std::string, std::string>> keys = {});

  std::optional<store::Account> findByName(const std::string& name);

 private:
  Result<void> reloadLocked();

  store::MetadataStore& store_;
  std::mutex mu_;
  std::map<std::string, store::Account> by_key_;  // guarded by mu_
  uint64_t data_version_ = 0;  // guarded by mu_: the store's version at the last load
};

// Writes `account`'s keys to `path` in the AWS shared-credentials format under `profile`, mode
// 0600, replacing the file atomically.
Result<void> writeCredentialsFile(const std::string& path, const std::string& profile,
                                  const store::Account& account);

}  // namespace hearth::control
