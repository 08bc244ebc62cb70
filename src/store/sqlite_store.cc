// SQLite implementation of the metadata store. Schema and its history: docs/formats/metadata.md.
#include "store/sqlite_store.h"

#include <array>
#include <memory>
#include <string_view>
#include <utility>

namespace hearth::store {
namespace {

using sqlite::bindText;
using sqlite::collectRows;
using sqlite::columnText;
using sqlite::sqliteError;
using sqlite::StmtScope;

// kMigrations[i] takes a database from schema version i to i + 1. Append only: a released step
// never changes, because databases already ran it.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    // 0 → 1: accounts and function records.
    R"sql(
      CREATE TABLE accounts (
        account_id        TEXT NOT NULL PRIMARY KEY,
        name              TEXT NOT NULL UNIQUE,
        access_key_id     TEXT NOT NULL UNIQUE,
        secret_access_key TEXT NOT NULL
      ) STRICT;
      CREATE TABLE functions (
        account_id TEXT NOT NULL,
        name       TEXT NOT NULL,
        version    TEXT NOT NULL,
        document   TEXT NOT NULL,
        PRIMARY KEY (account_id, name, version)
      ) STRICT, WITHOUT ROWID;
    )sql",
    // 1 → 2: event source mappings.
    R"sql(
      CREATE TABLE event_source_mappings (
        uuid       TEXT NOT NULL PRIMARY KEY,
        account_id TEXT NOT NULL,
        document   TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
    )sql",
};

constexpr std::array<std::string_view, SqliteMetadataStore::kStmtCount> kStatementSql = {
    // kInsertAccount
    "INSERT INTO accounts (account_id, name, access_key_id, secret_access_key) "
    "VALUES (?1, ?2, ?3, ?4)",
    // kSelectAccounts
    "SELECT account_id, name, access_key_id, secret_access_key FROM accounts "
    "ORDER BY account_id",
    // kUpsertFunction
    "INSERT INTO functions (account_id, name, version, document) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (account_id, name, version) DO UPDATE SET document = excluded.document",
    // kDeleteFunction
    "DELETE FROM functions WHERE account_id = ?1 AND name = ?2",
    // kSelectFunctions
    "SELECT account_id, name, version, document FROM functions "
    "ORDER BY account_id, name, version",
    // kUpsertMapping
    "INSERT INTO event_source_mappings (uuid, account_id, document) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (uuid) DO UPDATE SET account_id = excluded.account_id, "
    "document = excluded.document",
    // kDeleteMapping
    "DELETE FROM event_source_mappings WHERE uuid = ?1",
    // kSelectMappings
    "SELECT uuid, account_id, document FROM event_source_mappings ORDER BY uuid",
};

}  // namespace

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::open(const std::string& path) {
  Result<sqlite::Database> db = sqlite::Database::open(
      path, sqlite::Schema{"metadata", kApplicationId, kMigrations}, kStatementSql);
  if (!db) return std::move(db).error();
  return std::unique_ptr<SqliteMetadataStore>(new SqliteMetadataStore(std::move(*db)));
}

Result<void> SqliteMetadataStore::createAccount(const Account& account) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = db_.stmt(kInsertAccount);
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(stmt, 1, account.account_id));
  HEARTH_TRY(bindText(stmt, 2, account.name));
  HEARTH_TRY(bindText(stmt, 3, account.access_key_id));
  HEARTH_TRY(bindText(stmt, 4, account.secret_access_key));
  int rc = sqlite3_step(stmt);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    // "UNIQUE constraint failed: accounts.name" names the column that clashed.
    return makeError(ErrorCode::kConflict,
                     "account " + account.name + " (" + account.account_id +
                         ") conflicts with an existing account: " + sqlite3_errmsg(db_.handle()));
  }
  if (rc != SQLITE_DONE) return sqliteError(db_.handle(), rc, "creating an account");
  return {};
}

Result<std::vector<Account>> SqliteMetadataStore::listAccounts() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = db_.stmt(kSelectAccounts);
  StmtScope scope(stmt);
  std::vector<Account> accounts;
  HEARTH_TRY(collectRows(
      stmt, accounts,
      [](sqlite3_stmt* row) {
        return Account{.account_id = columnText(row, 0),
                       .name = columnText(row, 1),
                       .access_key_id = columnText(row, 2),
                       .secret_access_key = columnText(row, 3)};
      },
      "listing accounts"));
  return accounts;
}

Result<uint64_t> SqliteMetadataStore::dataVersion() {
  std::lock_guard lock(mu_);
  // PRAGMA data_version changes when another connection commits; it reads the WAL index, not
  // the database. Our own writes go through this connection and are already in memory above us.
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_.handle(), "PRAGMA data_version", -1, &raw, nullptr);
  if (rc != SQLITE_OK) return sqliteError(db_.handle(), rc, "reading the data version");
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return sqliteError(db_.handle(), rc, "reading the data version");
  return static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 0));
}

Result<void> SqliteMetadataStore::putFunction(const FunctionRecord& record) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = db_.stmt(kUpsertFunction);
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(stmt, 1, record.account_id));
  HEARTH_TRY(bindText(stmt, 2, record.name));
  HEARTH_TRY(bindText(stmt, 3, record.version));
  HEARTH_TRY(bindText(stmt, 4, record.document));
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return sqliteError(db_.handle(), rc, "writing function " + record.name);
  return {};
}

Result<void> SqliteMetadataStore::deleteFunction(const std::string& account_id,
                                                 const std::string& name) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = db_.stmt(kDeleteFunction);
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(stmt, 1, account_id));
  HEARTH_TRY(bindText(stmt, 2, name));
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return sqliteError(db_.handle(), rc, "deleting function " + name);
  if (sqlite3_changes64(db_.handle()) == 0) {
    return makeError(ErrorCode::kNotFound,
                     "function " + name + " not found in account " + account_id);
  }
  return {};
}

Result<std::vector<FunctionRecord>> SqliteMetadataStore::listFunctions() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = db_.stmt(kSelectFunctions);
  StmtScope scope(stmt);
  std::vector<FunctionRecord> records;
  HEARTH_TRY(collectRows(
      stmt, records,
      [](sqlite3_stmt* row) {
        return FunctionRecord{.account_id = columnText(row, 0),
                              .name = columnText(row, 1),
                              .version = columnText(row, 2),
                              .document = columnText(row, 3)};
      },
      "listing functions"));
  return records;
}

Result<void> SqliteMetadataStore::putEventSourceMapping(const EventSourceMappingRecord& record) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = db_.stmt(kUpsertMapping);
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(stmt, 1, record.uuid));
  HEARTH_TRY(bindText(stmt, 2, record.account_id));
  HEARTH_TRY(bindText(stmt, 3, record.document));
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return sqliteError(db_.handle(), rc, "writing event source mapping");
  return {};
}

Result<void> SqliteMetadataStore::deleteEventSourceMapping(const std::string& uuid) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = db_.stmt(kDeleteMapping);
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(stmt, 1, uuid));
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return sqliteError(db_.handle(), rc, "deleting event source mapping");
  if (sqlite3_changes64(db_.handle()) == 0) {
    return makeError(ErrorCode::kNotFound, "event source mapping " + uuid + " not found");
  }
  return {};
}

Result<std::vector<EventSourceMappingRecord>> SqliteMetadataStore::listEventSourceMappings() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = db_.stmt(kSelectMappings);
  StmtScope scope(stmt);
  std::vector<EventSourceMappingRecord> records;
  HEARTH_TRY(collectRows(
      stmt, records,
      [](sqlite3_stmt* row) {
        return EventSourceMappingRecord{.uuid = columnText(row, 0),
                                        .account_id = columnText(row, 1),
                                        .document = columnText(row, 2)};
      },
      "listing event source mappings"));
  return records;
}

Result<std::unique_ptr<MetadataStore>> openSqliteStore(const std::string& path) {
  auto store = SqliteMetadataStore::open(path);
  if (!store) return std::move(store).error();
  return std::unique_ptr<MetadataStore>(std::move(store).value());
}

}  // namespace hearth::store
