// SqliteMetadataStore: the embedded MetadataStore, one SQLite database file in WAL mode.
//
// The schema is in docs/formats/metadata.md; its version is PRAGMA user_version and the file is
// marked as Hearth's by PRAGMA application_id. open() creates the file and schema if missing,
// migrates an older schema forward, and refuses a file that is not a database, belongs to another
// application, or has a schema newer than this build knows.
//
// Durability: journal_mode=WAL with synchronous=FULL, so every mutating call has been committed
// and fsynced when it returns.
//
// Thread-safety: every public method is safe to call from any thread. The store owns exactly one
// connection and its prepared statements, serialised by one mutex; metadata operations are short
// and rare next to invokes, so a connection per thread would buy nothing. Other processes may open
// the same file (SQLite's own locking applies; a busy database is retried for up to 5 seconds).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/metadata_store.h"
#include "store/sqlite_db.h"

namespace hearth::store {

// The schema version this build writes (PRAGMA user_version). See docs/formats/metadata.md.
inline constexpr int kSchemaVersion = 2;
// PRAGMA application_id of a Hearth metadata database: "HRTH" as a big-endian int32.
inline constexpr int kApplicationId = 0x48525448;

class SqliteMetadataStore final : public MetadataStore {
 public:
  static Result<std::unique_ptr<SqliteMetadataStore>> open(const std::string& path);

  SqliteMetadataStore(const SqliteMetadataStore&) = delete;
  SqliteMetadataStore& operator=(const SqliteMetadataStore&) = delete;

  Result<void> createAccount(const Account& account) override;
  Result<std::vector<Account>> listAccounts() override;
  Result<uint64_t> dataVersion() override;
  Result<void> putFunction(const FunctionRecord& record) override;
  Result<void> deleteFunction(const std::string& account_id, const std::string& name) override;
  Result<std::vector<FunctionRecord>> listFunctions() override;
  Result<void> putEventSourceMapping(const EventSourceMappingRecord& record) override;
  Result<void> deleteEventSourceMapping(const std::string& uuid) override;
  Result<std::vector<EventSourceMappingRecord>> listEventSourceMappings() override;

  // Statements prepared once at open and reused (reset after every use).
  enum Stmt {
    kInsertAccount,
    kSelectAccounts,
    kUpsertFunction,
    kDeleteFunction,
    kSelectFunctions,
    kUpsertMapping,
    kDeleteMapping,
    kSelectMappings,
    kStmtCount,
  };

 private:
  explicit SqliteMetadataStore(sqlite::Database db) : db_(std::move(db)) {}

  std::mutex mu_;
  sqlite::Database db_;  // guarded by mu_
};

}  // namespace hearth::store
