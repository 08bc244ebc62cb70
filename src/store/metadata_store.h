// The metadata store: accounts, function records and event source mappings, durable across
// restarts.
//
// The store keeps records; it does not interpret them. Function configuration travels as a JSON
// document owned by src/control, so adding a configuration field never changes the schema. SQL
// never leaves src/store. Implementations are thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace hearth::store {

struct Account {
  std::string account_id;  // 12 decimal digits
  std::string name;        // unique, [A-Za-z0-9_-]{1,64}
  std::string access_key_id;
  std::string secret_access_key;
  bool operator==(const Account&) const = default;
};

// One version of one function. Version "$LATEST" is the mutable one; published versions
// ("1", "2", ...) are immutable once written.
struct FunctionRecord {
  std::string account_id;
  std::string name;
  std::string version = "$LATEST";
  std::string document;  // JSON, owned by src/control
  bool operator==(const FunctionRecord&) const = default;
};

// One event source mapping: its UUID, owner, and configuration as a JSON document owned by
// src/control.
struct EventSourceMappingRecord {
  std::string uuid;
  std::string account_id;
  std::string document;
  bool operator==(const EventSourceMappingRecord&) const = default;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // Fails with kConflict if the name or the access key is taken.
  virtual Result<void> createAccount(const Account& account) = 0;
  virtual Result<std::vector<Account>> listAccounts() = 0;
  // A number that changes whenever another process modifies the store (e.g. `hearthd account
  // create` while the daemon runs). Cheap: no table read.
  virtual Result<uint64_t> dataVersion() = 0;

  // Inserts or replaces the record with the same (account_id, name, version), durably (the
  // write is on disk when this returns).
  virtual Result<void> putFunction(const FunctionRecord& record) = 0;
  // Deletes every version of the function. kNotFound if there was none.
  virtual Result<void> deleteFunction(const std::string& account_id, const std::string& name) = 0;
  // Every record of every account, for loading at start-up.
  virtual Result<std::vector<FunctionRecord>> listFunctions() = 0;

  // Inserts or replaces the mapping with the same uuid, durably.
  virtual Result<void> putEventSourceMapping(const EventSourceMappingRecord& record) = 0;
  // kNotFound if there was none.
  virtual Result<void> deleteEventSourceMapping(const std::string& uuid) = 0;
  // Every mapping of every account, for loading at start-up.
  virtual Result<std::vector<EventSourceMappingRecord>> listEventSourceMappings() = 0;
};

// SQLite in WAL mode at `path`, created (with its schema) if missing. Schema migrations are
// versioned with PRAGMA user_version.
Result<std::unique_ptr<MetadataStore>> openSqliteStore(const std::string& path);

}  // namespace hearth::store
