// One SQLite database file as Hearth opens it: WAL mode, synchronous=FULL, a versioned schema
// brought forward by append-only migrations, and a fixed table of statements prepared once.
// Shared by the metadata store (src/store) and the event queue (src/queue), so that opening,
// migrating, binding and error reporting are written once. SQL stays inside those two modules.
//
// Error mapping: SQLite failures become kIo with SQLite's own words ("<what>: <message> (sqlite
// <extended code>)"), except a full disk or database (SQLITE_FULL), which is kStorageFull so
// that callers can refuse new work clearly instead of reporting an opaque failure.
//
// Thread-safety: a Database is a single connection and is not thread-safe; its owner serialises
// all use (a mutex, or a single thread).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hearth::store::sqlite {

// What a database file is and how it reaches its current schema.
struct Schema {
  std::string_view what;   // "metadata", "event queue": for messages
  int32_t application_id;  // PRAGMA application_id that marks the file as this schema's
  // migrations[i] takes the schema from version i to i + 1; the current version is
  // migrations.size(). Append only: a released step never changes.
  std::span<const std::string_view> migrations;
};

Error sqliteError(sqlite3* db, int rc, std::string_view what);

class Database {
 public:
  // Opens (creating if missing) `path`, sets WAL mode, synchronous=FULL and a 5 s busy timeout,
  // migrates to the schema's current version inside one transaction, and prepares `statements`
  // (later addressed by index). Refuses a file that is not a database, belongs to another
  // application, or has a newer schema version than `schema` knows.
  static Result<Database> open(const std::string& path, const Schema& schema,
                               std::span<const std::string_view> statements);

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  sqlite3* handle() const { return db_; }
  // REQUIRES: index < the number of statements given to open().
  sqlite3_stmt* stmt(size_t index) const { return stmts_[index]; }

  // Runs SQL text with no results (BEGIN, COMMIT, PRAGMA ...).
  Result<void> exec(std::string_view sql, std::string_view what) const;
  // Runs a one-row, one-column query and returns the column as an integer.
  Result<int64_t> queryInt(std::string_view sql) const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  void close();

  sqlite3* db_ = nullptr;  // owned
  // Invariant: after open() succeeds, every entry is a valid statement on db_, reset and with
  // no bindings between uses.
  std::vector<sqlite3_stmt*> stmts_;
};

// Resets a statement and clears its bindings when the scope ends, whatever path leaves it, so
// the next user finds it fresh.
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

// Binders. Text and blobs are bound SQLITE_STATIC: REQUIRES the bytes stay alive until the
// StmtScope that clears the bindings ends.
Result<void> bindText(sqlite3_stmt* stmt, int index, std::string_view text);
Result<void> bindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes);
Result<void> bindInt(sqlite3_stmt* stmt, int index, int64_t value);

// Column readers; NULL reads as "" (every Hearth column is NOT NULL).
std::string columnText(sqlite3_stmt* stmt, int column);
std::string columnBlob(sqlite3_stmt* stmt, int column);

// Steps `stmt` (bound, inside a StmtScope) through all its rows, appending row(stmt) for each to
// `out`. `what` names the query in the error.
template <typename T, typename RowFn>
Result<void> collectRows(sqlite3_stmt* stmt, std::vector<T>& out, RowFn row,
                         std::string_view what) {
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) out.push_back(row(stmt));
  if (rc != SQLITE_DONE) return sqliteError(sqlite3_db_handle(stmt), rc, what);
  return {};
}

}  // namespace hearth::store::sqlite
