// SQLite implementation of the metadata store. Schema and its history: docs/formats/metadata.md.
#include "store/sqlite_store.h"

#include <array>
#include <memory>
#include <string_view>
#include <utility>

namespace hearth::store {
namespace {

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
};

constexpr std::string_view kStatementSql[] = {
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
};

// kIo with SQLite's own words: "<what>: <message> (sqlite <extended code>)".
Error sqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  // sqlite3_errmsg describes the most recent failure on db; fall back to the generic text for
  // rc when there is no handle (allocation failure at open).
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (sqlite " + std::to_string(rc) + ")";
  return makeError(ErrorCode::kIo, std::move(message));
}

// Resets a statement and clears its bindings when the scope ends, whatever path leaves it, so
// the next caller finds it fresh. Errors from reset repeat the step's error, already reported.
class StmtScope {
 public:
  explicit StmtScope(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StmtScope() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StmtScope(const StmtScope&) = delete;
  StmtScope& operator=(const StmtScope&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Binds `text` to parameter `index`. SQLITE_STATIC is sound because every caller keeps the
// string alive until the StmtScope that clears the bindings ends.
Result<void> bindText(sqlite3* db, sqlite3_stmt* stmt, int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) return sqliteError(db, rc, "binding a parameter");
  return {};
}

std::string columnText(sqlite3_stmt* stmt, int column) {
  // SAFETY: sqlite3_column_text returns UTF-8 bytes valid until the next step/reset; the length
  // comes from sqlite3_column_bytes called after it, as SQLite requires. NULL never occurs (every
  // column is NOT NULL) but maps to "" rather than a null dereference.
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

Result<void> exec(sqlite3* db, std::string_view sql, std::string_view what) {
  int rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqliteError(db, rc, what);
  return {};
}

// Runs a one-row, one-column query (a PRAGMA) and returns the column as an integer.
Result<int64_t> queryInt(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return sqliteError(db, rc, sql);
  rc = sqlite3_step(stmt);
  int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return sqliteError(db, rc, sql);
  return value;
}

Result<std::string> queryText(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return sqliteError(db, rc, sql);
  rc = sqlite3_step(stmt);
  std::string value = rc == SQLITE_ROW ? columnText(stmt, 0) : std::string();
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return sqliteError(db, rc, sql);
  return value;
}

// Brings the schema to kSchemaVersion inside one transaction, so a crash mid-migration leaves
// the previous version intact.
Result<void> migrate(sqlite3* db, const std::string& path) {
  HEARTH_TRY(exec(db, "BEGIN IMMEDIATE", "starting the schema transaction"));
  auto run = [&]() -> Result<void> {
    auto version = queryInt(db, "PRAGMA user_version");
    if (!version) return version.error();
    auto app_id = queryInt(db, "PRAGMA application_id");
    if (!app_id) return app_id.error();
    if (*version != 0 && *app_id != kApplicationId) {
      return makeError(ErrorCode::kIo, path + " is an SQLite database of another application");
    }
    if (*version > kSchemaVersion) {
      return makeError(ErrorCode::kIo, path + " has metadata schema version " +
                                           std::to_string(*version) + "; this build knows up to " +
                                           std::to_string(kSchemaVersion));
    }
    for (int64_t v = *version; v < kSchemaVersion; ++v) {
      HEARTH_TRY(exec(db, kMigrations[static_cast<size_t>(v)],
                      "migrating the metadata schema to version " + std::to_string(v + 1)));
    }
    if (*version != kSchemaVersion) {
      HEARTH_TRY(exec(db, "PRAGMA application_id = " + std::to_string(kApplicationId),
                      "setting application_id"));
      HEARTH_TRY(exec(db, "PRAGMA user_version = " + std::to_string(kSchemaVersion),
                      "setting user_version"));
    }
    return {};
  };
  Result<void> result = run();
  if (!result) {
    // The transaction may already be gone (SQLite rolls back on some errors); a failing
    // ROLLBACK then changes nothing and the original error is the one worth reporting.
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return result;
  }
  return exec(db, "COMMIT", "committing the schema");
}

}  // namespace

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: the store serialises all use of the connection with its own mutex.
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error error = sqliteError(db, rc, "opening " + path);
    sqlite3_close(db);  // a handle is returned even on failure (or null, which is a no-op)
    return error;
  }
  // From here the store owns db and its destructor closes it on every path.
  std::unique_ptr<SqliteMetadataStore> store(new SqliteMetadataStore(db));
  sqlite3_extended_result_codes(db, 1);
  rc = sqlite3_busy_timeout(db, 5000);
  if (rc != SQLITE_OK) return sqliteError(db, rc, "setting the busy timeout");

  // The first statement reads the file header: a non-database fails here with SQLITE_NOTADB.
  auto mode = queryText(db, "PRAGMA journal_mode = WAL");
  if (!mode) return makeError(mode.error().code, "opening " + path + ": " + mode.error().message);
  if (*mode != "wal") {
    return makeError(ErrorCode::kIo,
                     path + ": cannot use WAL mode (journal_mode is " + *mode + ")");
  }
  HEARTH_TRY(exec(db, "PRAGMA synchronous = FULL", "setting synchronous"));
  HEARTH_TRY(migrate(db, path));
  HEARTH_TRY(store->prepareAll());
  return store;
}

SqliteMetadataStore::~SqliteMetadataStore() {
  for (sqlite3_stmt* stmt : stmts_) sqlite3_finalize(stmt);  // null is a no-op
  // Every statement is finalized, so close cannot report SQLITE_BUSY.
  sqlite3_close(db_);
}

Result<void> SqliteMetadataStore::prepareAll() {
  for (int i = 0; i < kStmtCount; ++i) {
    std::string_view sql = kStatementSql[i];
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmts_[i], nullptr);
    if (rc != SQLITE_OK) return sqliteError(db_, rc, "preparing a statement");
  }
  return {};
}

Result<void> SqliteMetadataStore::createAccount(const Account& account) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = stmts_[kInsertAccount];
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(db_, stmt, 1, account.account_id));
  HEARTH_TRY(bindText(db_, stmt, 2, account.name));
  HEARTH_TRY(bindText(db_, stmt, 3, account.access_key_id));
  HEARTH_TRY(bindText(db_, stmt, 4, account.secret_access_key));
  int rc = sqlite3_step(stmt);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    // "UNIQUE constraint failed: accounts.name" names the column that clashed.
    return makeError(ErrorCode::kConflict,
                     "account " + account.name + " (" + account.account_id +
                         ") conflicts with an existing account: " + sqlite3_errmsg(db_));
  }
  if (rc != SQLITE_DONE) return sqliteError(db_, rc, "creating an account");
  return {};
}

Result<std::vector<Account>> SqliteMetadataStore::listAccounts() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = stmts_[kSelectAccounts];
  StmtScope scope(stmt);
  std::vector<Account> accounts;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    accounts.push_back(Account{.account_id = columnText(stmt, 0),
                               .name = columnText(stmt, 1),
                               .access_key_id = columnText(stmt, 2),
                               .secret_access_key = columnText(stmt, 3)});
  }
  if (rc != SQLITE_DONE) return sqliteError(db_, rc, "listing accounts");
  return accounts;
}

Result<uint64_t> SqliteMetadataStore::dataVersion() {
  std::lock_guard lock(mu_);
  // PRAGMA data_version changes when another connection commits; it reads the WAL index, not
  // the database. Our own writes go through this connection and are already in memory above us.
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA data_version", -1, &raw, nullptr);
  if (rc != SQLITE_OK) return sqliteError(db_, rc, "reading the data version");
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return sqliteError(db_, rc, "reading the data version");
  return static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 0));
}

Result<void> SqliteMetadataStore::putFunction(const FunctionRecord& record) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = stmts_[kUpsertFunction];
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(db_, stmt, 1, record.account_id));
  HEARTH_TRY(bindText(db_, stmt, 2, record.name));
  HEARTH_TRY(bindText(db_, stmt, 3, record.version));
  HEARTH_TRY(bindText(db_, stmt, 4, record.document));
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return sqliteError(db_, rc, "writing function " + record.name);
  return {};
}

Result<void> SqliteMetadataStore::deleteFunction(const std::string& account_id,
                                                 const std::string& name) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = stmts_[kDeleteFunction];
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(db_, stmt, 1, account_id));
  HEARTH_TRY(bindText(db_, stmt, 2, name));
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return sqliteError(db_, rc, "deleting function " + name);
  if (sqlite3_changes64(db_) == 0) {
    return makeError(ErrorCode::kNotFound,
                     "function " + name + " not found in account " + account_id);
  }
  return {};
}

Result<std::vector<FunctionRecord>> SqliteMetadataStore::listFunctions() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = stmts_[kSelectFunctions];
  StmtScope scope(stmt);
  std::vector<FunctionRecord> records;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    records.push_back(FunctionRecord{.account_id = columnText(stmt, 0),
                                     .name = columnText(stmt, 1),
                                     .version = columnText(stmt, 2),
                                     .document = columnText(stmt, 3)});
  }
  if (rc != SQLITE_DONE) return sqliteError(db_, rc, "listing functions");
  return records;
}

Result<std::unique_ptr<MetadataStore>> openSqliteStore(const std::string& path) {
  auto store = SqliteMetadataStore::open(path);
  if (!store) return std::move(store).error();
  return std::unique_ptr<MetadataStore>(std::move(store).value());
}

}  // namespace hearth::store
