// hearth-sqlite-insert: the baseline for durable event accepts. A bare SQLite insert loop with
// the queue's durability (WAL, synchronous=FULL: every commit fsynced), on a database file in
// --dir, so it runs on the same disk as hearthd's queue. Each transaction inserts --per-commit
// rows of --payload-bytes into a table shaped like the queue's `events`; prints one JSON object:
//   {"rows", "commits", "seconds", "rows_per_second", "commit_p50_us", "commit_p99_us"}
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

bool exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK) return true;
  std::fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
  sqlite3_free(err);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bare SQLite insert loop with the event queue's durability"};
  std::string dir = ".";
  int64_t rows = 2000;
  int64_t per_commit = 1;
  size_t payload_bytes = 64;
  app.add_option("--dir", dir, "where the database file goes")->capture_default_str();
  app.add_option("--rows", rows, "rows to insert")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--per-commit", per_commit, "rows per transaction")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--payload-bytes", payload_bytes, "bytes per row")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const std::string path = (std::filesystem::path(dir) / "hearth-sqlite-insert.db").string();
  std::filesystem::remove(path);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), sqlite3_errmsg(db));
    return 1;
  }
  if (!exec(db, "PRAGMA journal_mode = WAL") || !exec(db, "PRAGMA synchronous = FULL") ||
      !exec(db,
            "CREATE TABLE events (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, "
            "account_id TEXT NOT NULL, function_name TEXT NOT NULL, qualifier TEXT NOT NULL, "
            "payload BLOB NOT NULL, accepted_at INTEGER NOT NULL, attempts INTEGER NOT NULL, "
            "visible_at INTEGER NOT NULL) STRICT")) {
    return 1;
  }
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO events (request_id, account_id, function_name, qualifier, "
                     "payload, accepted_at, attempts, visible_at) "
                     "VALUES ('8c1b4a9e-6f1d-4c2a-9d2e-0b7a3c5e1f42', '123456789012', 'bench', "
                     "'', ?1, 0, 0, 0)",
                     -1, &insert, nullptr);
  const std::string payload(payload_bytes, 'x');
  std::vector<double> commit_us;
  const Clock::time_point start = Clock::now();
  for (int64_t done = 0; done < rows;) {
    const Clock::time_point t0 = Clock::now();
    if (!exec(db, "BEGIN IMMEDIATE")) return 1;
    for (int64_t i = 0; i < per_commit && done < rows; ++i, ++done) {
      sqlite3_bind_blob(insert, 1, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) {
        std::fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
        return 1;
      }
      sqlite3_reset(insert);
    }
    if (!exec(db, "COMMIT")) return 1;
    commit_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(insert);
  sqlite3_close(db);
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");

  std::sort(commit_us.begin(), commit_us.end());
  auto pct = [&](double p) { return commit_us[static_cast<size_t>(p * (commit_us.size() - 1))]; };
  nlohmann::json out = {{"rows", rows},
                        {"commits", commit_us.size()},
                        {"seconds", seconds},
                        {"rows_per_second", static_cast<double>(rows) / seconds},
                        {"commit_p50_us", pct(0.5)},
                        {"commit_p99_us", pct(0.99)}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
