#include "store/sqlite_db.h"

#include <utility>

namespace hearth::store::sqlite {
namespace {

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

}  // namespace

Error sqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  // sqlite3_errmsg describes the most recent failure on db; fall back to the generic text for
  // rc when there is no handle (allocation failure at open).
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (sqlite " + std::to_string(rc) + ")";
  const ErrorCode code = (rc & 0xff) == SQLITE_FULL ? ErrorCode::kStorageFull : ErrorCode::kIo;
  return makeError(code, std::move(message));
}

Result<void> bindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) return sqliteError(sqlite3_db_handle(stmt), rc, "binding a parameter");
  return {};
}

Result<void> bindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  // An empty string_view may have a null data(); SQLite binds a null pointer as NULL, so give
  // it a valid address for a zero-length blob.
  const void* data = bytes.empty() ? static_cast<const void*>("") : bytes.data();
  int rc = sqlite3_bind_blob64(stmt, index, data, bytes.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK) return sqliteError(sqlite3_db_handle(stmt), rc, "binding a parameter");
  return {};
}

Result<void> bindInt(sqlite3_stmt* stmt, int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt, index, value);
  if (rc != SQLITE_OK) return sqliteError(sqlite3_db_handle(stmt), rc, "binding a parameter");
  return {};
}

std::string columnText(sqlite3_stmt* stmt, int column) {
  // SAFETY: sqlite3_column_text returns UTF-8 bytes valid until the next step/reset; the length
  // comes from sqlite3_column_bytes called after it, as SQLite requires. NULL maps to "" rather
  // than a null dereference.
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

std::string columnBlob(sqlite3_stmt* stmt, int column) {
  // SAFETY: as columnText; sqlite3_column_blob's bytes stay valid until the next step/reset and
  // sqlite3_column_bytes, called after it, is their length.
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  if (bytes == nullptr) return {};
  return std::string(bytes, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

Result<Database> Database::open(const std::string& path, const Schema& schema,
                                std::span<const std::string_view> statements) {
  sqlite3* raw = nullptr;
  // NOMUTEX: the owner serialises all use of the connection.
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error error = sqliteError(raw, rc, "opening " + path);
    sqlite3_close(raw);  // a handle is returned even on failure (or null, which is a no-op)
    return error;
  }
  // From here `db` owns the handle and closes it on every path.
  Database db(raw);
  sqlite3_extended_result_codes(raw, 1);
  rc = sqlite3_busy_timeout(raw, 5000);
  if (rc != SQLITE_OK) return sqliteError(raw, rc, "setting the busy timeout");

  // The first statement reads the file header: a non-database fails here with SQLITE_NOTADB.
  Result<std::string> mode = queryText(raw, "PRAGMA journal_mode = WAL");
  if (!mode) return makeError(mode.error().code, "opening " + path + ": " + mode.error().message);
  if (*mode != "wal") {
    return makeError(ErrorCode::kIo,
                     path + ": cannot use WAL mode (journal_mode is " + *mode + ")");
  }
  HEARTH_TRY(db.exec("PRAGMA synchronous = FULL", "setting synchronous"));

  // Migrations run inside one transaction with the user_version update, so a crash
  // mid-migration leaves the previous version intact.
  const auto current = static_cast<int64_t>(schema.migrations.size());
  HEARTH_TRY(db.exec("BEGIN IMMEDIATE", "starting the schema transaction"));
  auto migrate = [&]() -> Result<void> {
    Result<int64_t> version = db.queryInt("PRAGMA user_version");
    if (!version) return version.error();
    Result<int64_t> app_id = db.queryInt("PRAGMA application_id");
    if (!app_id) return app_id.error();
    if (*version != 0 && *app_id != schema.application_id) {
      return makeError(ErrorCode::kIo, path + " is an SQLite database of another application");
    }
    if (*version > current) {
      return makeError(ErrorCode::kIo, path + " has " + std::string(schema.what) +
                                           " schema version " + std::to_string(*version) +
                                           "; this build knows up to " + std::to_string(current));
    }
    for (int64_t v = *version; v < current; ++v) {
      HEARTH_TRY(db.exec(schema.migrations[static_cast<size_t>(v)],
                         "migrating the " + std::string(schema.what) + " schema to version " +
                             std::to_string(v + 1)));
    }
    if (*version != current) {
      HEARTH_TRY(db.exec("PRAGMA application_id = " + std::to_string(schema.application_id),
                         "setting application_id"));
      HEARTH_TRY(
          db.exec("PRAGMA user_version = " + std::to_string(current), "setting user_version"));
    }
    return {};
  };
  if (Result<void> migrated = migrate(); !migrated) {
    // The transaction may already be gone (SQLite rolls back on some errors); a failing
    // ROLLBACK then changes nothing and the original error is the one worth reporting.
    sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
    return std::move(migrated).error();
  }
  HEARTH_TRY(db.exec("COMMIT", "committing the schema"));

  db.stmts_.assign(statements.size(), nullptr);
  for (size_t i = 0; i < statements.size(); ++i) {
    std::string_view sql = statements[i];
    rc = sqlite3_prepare_v3(raw, sql.data(), static_cast<int>(sql.size()),
                            SQLITE_PREPARE_PERSISTENT, &db.stmts_[i], nullptr);
    if (rc != SQLITE_OK) return sqliteError(raw, rc, "preparing a statement");
  }
  return db;
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmts_(std::move(other.stmts_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    stmts_ = std::move(other.stmts_);
  }
  return *this;
}

Database::~Database() { close(); }

void Database::close() {
  for (sqlite3_stmt* stmt : stmts_) sqlite3_finalize(stmt);  // null is a no-op
  stmts_.clear();
  // Every statement is finalized, so close cannot report SQLITE_BUSY.
  sqlite3_close(db_);
  db_ = nullptr;
}

Result<void> Database::exec(std::string_view sql, std::string_view what) const {
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqliteError(db_, rc, what);
  return {};
}

Result<int64_t> Database::queryInt(std::string_view sql) const {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return sqliteError(db_, rc, sql);
  rc = sqlite3_step(stmt);
  int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return sqliteError(db_, rc, sql);
  return value;
}

}  // namespace hearth::store::sqlite
