// SQLite implementation of the event queue. Record format: docs/formats/queue.md.
#include "queue/sqlite_event_queue.h"

#include <algorithm>
#include <array>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "common/log.h"

namespace hearth::queue {
namespace {

namespace asio = boost::asio;
using store::sqlite::bindBlob;
using store::sqlite::bindInt;
using store::sqlite::bindText;
using store::sqlite::collectRows;
using store::sqlite::columnBlob;
using store::sqlite::columnText;
using store::sqlite::Database;
using store::sqlite::sqliteError;
using store::sqlite::StmtScope;

// PRAGMA application_id of a Hearth queue database: "HRTQ" as a big-endian int32.
constexpr int32_t kQueueApplicationId = 0x48525451;

constexpr std::array<std::string_view, 1> kMigrations = {
    // 0 → 1: events and the dead-letter store.
    R"sql(
      CREATE TABLE events (
        id            INTEGER PRIMARY KEY,
        request_id    TEXT NOT NULL,
        account_id    TEXT NOT NULL,
        function_name TEXT NOT NULL,
        qualifier     TEXT NOT NULL,
        payload       BLOB NOT NULL,
        accepted_at   INTEGER NOT NULL,
        attempts      INTEGER NOT NULL,
        visible_at    INTEGER NOT NULL,
        depth         INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE dead_letters (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id    TEXT NOT NULL,
        queue         TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        record        TEXT NOT NULL,
        request_id    TEXT NOT NULL,
        function_name TEXT NOT NULL,
        qualifier     TEXT NOT NULL,
        payload       BLOB NOT NULL
      ) STRICT;
      CREATE INDEX dead_letters_by_queue ON dead_letters (account_id, queue, id);
      CREATE TABLE positions (
        source   TEXT NOT NULL PRIMARY KEY,
        position TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
    )sql",
};

enum Stmt : size_t {
  kInsertEvent,
  kDeleteEvent,
  kUpdateEvent,
  kSelectPayload,
  kSelectEvents,
  kInsertDeadLetter,
  kListDeadLetters,
  kSelectDeadLetter,
  kDeleteDeadLetter,
  kSelectPosition,
  kUpsertPosition,
  kDeletePosition,
  kStmtCount,
};

constexpr std::array<std::string_view, kStmtCount> kStatementSql = {
    // kInsertEvent
    "INSERT INTO events (request_id, account_id, function_name, qualifier, payload, accepted_at, "
    "attempts, visible_at, depth) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    // kDeleteEvent
    "DELETE FROM events WHERE id = ?1",
    // kUpdateEvent
    "UPDATE events SET attempts = ?2, visible_at = ?3 WHERE id = ?1",
    // kSelectPayload
    "SELECT payload FROM events WHERE id = ?1",
    // kSelectEvents
    "SELECT id, request_id, account_id, function_name, qualifier, accepted_at, attempts, "
    "visible_at, depth FROM events ORDER BY id",
    // kInsertDeadLetter
    "INSERT INTO dead_letters (account_id, queue, created_at, record, request_id, function_name, "
    "qualifier, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    // kListDeadLetters
    "SELECT id, created_at, record, request_id, function_name, qualifier, payload "
    "FROM dead_letters WHERE account_id = ?1 AND queue = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
    // kSelectDeadLetter
    "SELECT id, created_at, record, request_id, function_name, qualifier, payload "
    "FROM dead_letters WHERE account_id = ?1 AND queue = ?2 AND id = ?3",
    // kDeleteDeadLetter
    "DELETE FROM dead_letters WHERE id = ?1",
    // kSelectPosition
    "SELECT position FROM positions WHERE source = ?1",
    // kUpsertPosition
    "INSERT INTO positions (source, position) VALUES (?1, ?2) "
    "ON CONFLICT (source) DO UPDATE SET position = excluded.position",
    // kDeletePosition
    "DELETE FROM positions WHERE source = ?1",
};

Result<void> stepDone(const Database& db, sqlite3_stmt* stmt, std::string_view what) {
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return sqliteError(db.handle(), rc, what);
  return {};
}

// Inserts one event (its payload given apart, so callers need not copy it); returns its id.
Result<uint64_t> insertEvent(const Database& db, const NewEvent& e, std::string_view payload,
                             uint32_t attempts, SystemTime visible_at) {
  sqlite3_stmt* stmt = db.stmt(kInsertEvent);
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(stmt, 1, e.request_id));
  HEARTH_TRY(bindText(stmt, 2, e.target.account_id));
  HEARTH_TRY(bindText(stmt, 3, e.target.function_name));
  HEARTH_TRY(bindText(stmt, 4, e.target.qualifier));
  HEARTH_TRY(bindBlob(stmt, 5, payload));
  HEARTH_TRY(bindInt(stmt, 6, toEpochMillis(e.accepted_at)));
  HEARTH_TRY(bindInt(stmt, 7, attempts));
  HEARTH_TRY(bindInt(stmt, 8, toEpochMillis(visible_at)));
  HEARTH_TRY(bindInt(stmt, 9, e.depth));
  HEARTH_TRY(stepDone(db, stmt, "storing an event"));
  return static_cast<uint64_t>(sqlite3_last_insert_rowid(db.handle()));
}

Result<void> insertDeadLetter(const Database& db, const NewDeadLetter& d, SystemTime now) {
  sqlite3_stmt* stmt = db.stmt(kInsertDeadLetter);
  StmtScope scope(stmt);
  HEARTH_TRY(bindText(stmt, 1, d.account_id));
  HEARTH_TRY(bindText(stmt, 2, d.queue));
  HEARTH_TRY(bindInt(stmt, 3, toEpochMillis(now)));
  HEARTH_TRY(bindText(stmt, 4, d.record));
  HEARTH_TRY(bindText(stmt, 5, d.request_id));
  HEARTH_TRY(bindText(stmt, 6, d.target.function_name));
  HEARTH_TRY(bindText(stmt, 7, d.target.qualifier));
  HEARTH_TRY(bindBlob(stmt, 8, d.payload));
  return stepDone(db, stmt, "storing a dead letter");
}

Result<void> deleteById(const Database& db, Stmt which, uint64_t id, std::string_view what) {
  sqlite3_stmt* stmt = db.stmt(which);
  StmtScope scope(stmt);
  HEARTH_TRY(bindInt(stmt, 1, static_cast<int64_t>(id)));
  return stepDone(db, stmt, what);
}

// Reads the row a kListDeadLetters / kSelectDeadLetter statement is on.
DeadLetter readDeadLetter(sqlite3_stmt* stmt, const std::string& account_id,
                          const std::string& queue) {
  DeadLetter d;
  d.id = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
  d.created_at = fromEpochMillis(sqlite3_column_int64(stmt, 1));
  d.entry.account_id = account_id;
  d.entry.queue = queue;
  d.entry.record = columnText(stmt, 2);
  d.entry.request_id = columnText(stmt, 3);
  d.entry.target = {account_id, columnText(stmt, 4), columnText(stmt, 5)};
  d.entry.payload = columnBlob(stmt, 6);
  return d;
}

// The dead letters a redrive or delete names: `ids` (those that exist in the queue), or every
// entry of the queue when `ids` is empty.
Result<std::vector<DeadLetter>> selectDeadLetters(const Database& db, const std::string& account_id,
                                                  const std::string& queue,
                                                  const std::vector<uint64_t>& ids) {
  std::vector<DeadLetter> out;
  auto read = [&](sqlite3_stmt* row) { return readDeadLetter(row, account_id, queue); };
  auto collect = [&](Stmt which, int64_t key, int64_t limit) -> Result<void> {
    sqlite3_stmt* stmt = db.stmt(which);
    StmtScope scope(stmt);
    HEARTH_TRY(bindText(stmt, 1, account_id));
    HEARTH_TRY(bindText(stmt, 2, queue));
    HEARTH_TRY(bindInt(stmt, 3, key));
    if (which == kListDeadLetters) HEARTH_TRY(bindInt(stmt, 4, limit));
    return collectRows(stmt, out, read, "reading dead letters");
  };
  if (ids.empty()) {
    HEARTH_TRY(collect(kListDeadLetters, 0, -1));  // LIMIT -1: no limit
  } else {
    for (uint64_t id : ids) HEARTH_TRY(collect(kSelectDeadLetter, static_cast<int64_t>(id), 0));
  }
  return out;
}

}  // namespace

bool isValidQueueName(std::string_view name) {
  if (name.empty() || name.size() > 80) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<std::unique_ptr<SqliteEventQueue>> SqliteEventQueue::open(const std::string& path,
                                                                 asio::any_io_executor executor,
                                                                 SqliteQueueOptions options) {
  Result<Database> db = Database::open(
      path, store::sqlite::Schema{"event queue", kQueueApplicationId, kMigrations}, kStatementSql);
  if (!db) return std::move(db).error();
  if (options.max_database_bytes > 0) {
    Result<int64_t> page_size = db->queryInt("PRAGMA page_size");
    if (!page_size) return page_size.error();
    const uint64_t pages = std::max<uint64_t>(options.max_database_bytes / *page_size, 1);
    HEARTH_TRY(
        db->exec("PRAGMA max_page_count = " + std::to_string(pages), "limiting the queue's size"));
  }
  std::unique_ptr<SqliteEventQueue> queue(new SqliteEventQueue(std::move(executor), options));
  HEARTH_TRY(queue->load(*db));
  queue->journal_ = std::make_unique<Journal>(std::move(*db));
  return queue;
}

SqliteEventQueue::SqliteEventQueue(asio::any_io_executor executor, SqliteQueueOptions options)
    : executor_(std::move(executor)), options_(options) {}

SqliteEventQueue::~SqliteEventQueue() { close(); }

Result<void> SqliteEventQueue::load(const Database& db) {
  sqlite3_stmt* stmt = db.stmt(kSelectEvents);
  StmtScope scope(stmt);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    auto id = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
    Stored s;
    s.request_id = columnText(stmt, 1);
    s.target = {columnText(stmt, 2), columnText(stmt, 3), columnText(stmt, 4)};
    s.accepted_at = fromEpochMillis(sqlite3_column_int64(stmt, 5));
    s.attempts = static_cast<uint32_t>(sqlite3_column_int64(stmt, 6));
    SystemTime visible_at = fromEpochMillis(sqlite3_column_int64(stmt, 7));
    s.depth = static_cast<uint32_t>(sqlite3_column_int64(stmt, 8));
    scheduler_.add(id, LaneKey{s.target.account_id, s.target.function_name}, visible_at);
    stored_.emplace(id, std::move(s));
  }
  if (rc != SQLITE_DONE) return sqliteError(db.handle(), rc, "loading the event queue");
  return {};
}

asio::awaitable<Result<void>> SqliteEventQueue::transact(Journal::Job job) {
  asio::any_io_executor executor = executor_;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<void>)>(
      [this, executor](auto handler, Journal::Job job) {
        // Journal::Done must be copyable; the completion handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        journal_->submit(std::move(job), [executor, shared](Result<void> r) {
          asio::post(executor, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
        });
      },
      asio::use_awaitable, std::move(job));
}

void SqliteEventQueue::track(uint64_t id, const NewEvent& event,
                             std::shared_ptr<const std::string> payload) {
  Stored s;
  s.request_id = event.request_id;
  s.target = event.target;
  s.accepted_at = event.accepted_at;
  s.depth = event.depth;
  if (cached_bytes_ + payload->size() <= options_.payload_cache_bytes) {
    cached_bytes_ += payload->size();
    s.payload = std::move(payload);
  }
  scheduler_.add(id, LaneKey{event.target.account_id, event.target.function_name},
                 std::chrono::system_clock::now());
  stored_.emplace(id, std::move(s));
}

void SqliteEventQueue::forget(uint64_t id) {
  auto it = stored_.find(id);
  if (it == stored_.end()) return;
  if (it->second.payload) cached_bytes_ -= it->second.payload->size();
  stored_.erase(it);
  scheduler_.remove(id);
}

void SqliteEventQueue::wakeWaiters() {
  for (asio::steady_timer* timer : waiters_) timer->cancel();
}

asio::awaitable<Result<void>> SqliteEventQueue::append(NewEvent event) {
  auto payload = std::make_shared<const std::string>(std::move(event.payload));
  uint64_t id = 0;
  // The job borrows `event`, `payload` and `id` from this frame, which stays suspended until
  // the transaction has completed.
  Result<void> stored = co_await transact([&](const Database& db) -> Result<void> {
    Result<uint64_t> r = insertEvent(db, event, *payload, 0, event.accepted_at);
    if (!r) return r.error();
    id = *r;
    return {};
  });
  if (!stored) {
    if (stored.error().code == ErrorCode::kStorageFull) {
      co_return makeError(ErrorCode::kStorageFull,
                          "The event was not accepted: Hearth's data directory is full. Free "
                          "space and send it again.");
    }
    co_return stored.error();
  }
  track(id, event, std::move(payload));
  wakeWaiters();
  co_return Result<void>();
}

asio::awaitable<Result<std::vector<Event>>> SqliteEventQueue::lease(
    size_t max, std::chrono::milliseconds visibility) {
  for (;;) {
    if (closed_) co_return std::vector<Event>{};
    const SystemTime now = std::chrono::system_clock::now();
    std::vector<Scheduler::Leased> taken = scheduler_.take(max, now, visibility);
    if (!taken.empty()) co_return co_await materialize(std::move(taken));

    // Nothing ready: sleep until the scheduler's next change, or until woken by an append, a
    // reschedule or close().
    asio::steady_timer timer(executor_);
    std::optional<SystemTime> next = scheduler_.nextChange();
    timer.expires_after(next ? std::chrono::duration_cast<asio::steady_timer::duration>(*next - now)
                             : asio::steady_timer::duration(std::chrono::hours(1)));
    waiters_.insert(&timer);
    boost::system::error_code ignored;  // operation_aborted: woken early, which is the point
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    waiters_.erase(&timer);
  }
}

asio::awaitable<Result<std::vector<Event>>> SqliteEventQueue::materialize(
    std::vector<Scheduler::Leased> leased) {
  std::vector<Event> events;
  events.reserve(leased.size());
  std::vector<size_t> cold;  // indexes into events whose payload is on disk only
  for (const Scheduler::Leased& l : leased) {
    const Stored& s = stored_.at(l.id);
    Event e{l.id, l.token, s.request_id, s.target, {}, s.accepted_at, s.attempts, s.depth};
    if (s.payload) {
      e.payload = *s.payload;
    } else {
      cold.push_back(events.size());
    }
    events.push_back(std::move(e));
  }
  if (cold.empty()) co_return events;

  Result<void> read = co_await transact([&](const Database& db) -> Result<void> {
    sqlite3_stmt* stmt = db.stmt(kSelectPayload);
    for (size_t i : cold) {
      StmtScope scope(stmt);
      HEARTH_TRY(bindInt(stmt, 1, static_cast<int64_t>(events[i].id)));
      int rc = sqlite3_step(stmt);
      if (rc != SQLITE_ROW) return sqliteError(db.handle(), rc, "reading an event's payload");
      events[i].payload = columnBlob(stmt, 0);
    }
    return {};
  });
  if (!read) {
    // Hand out what is in memory; the others go back and are tried again shortly.
    LOG_WARN("event queue: {}", read.error().toString());
    const SystemTime later = std::chrono::system_clock::now() + std::chrono::seconds(1);
    std::vector<Event> warm;
    for (size_t i = 0, c = 0; i < events.size(); ++i) {
      if (c < cold.size() && cold[c] == i) {
        ++c;
        if (scheduler_.holds(events[i].id, events[i].lease)) {
          scheduler_.reschedule(events[i].id, later);
        }
      } else {
        warm.push_back(std::move(events[i]));
      }
    }
    co_return warm;
  }
  co_return events;
}

Result<void> SqliteEventQueue::storeHandoff(const Database& db, const Handoff& handoff,
                                            SystemTime now, std::vector<uint64_t>& new_ids) {
  for (const NewEvent& e : handoff.events) {
    Result<uint64_t> id = insertEvent(db, e, e.payload, 0, e.accepted_at);
    if (!id) return id.error();
    new_ids.push_back(*id);
  }
  for (const NewDeadLetter& d : handoff.dead_letters) HEARTH_TRY(insertDeadLetter(db, d, now));
  return {};
}

void SqliteEventQueue::trackHandoff(const std::vector<uint64_t>& new_ids, Handoff& handoff) {
  for (size_t i = 0; i < new_ids.size(); ++i) {
    auto payload = std::make_shared<const std::string>(std::move(handoff.events[i].payload));
    track(new_ids[i], handoff.events[i], std::move(payload));
  }
  if (!new_ids.empty()) wakeWaiters();
}

asio::awaitable<Result<void>> SqliteEventQueue::complete(const Event& event, Handoff handoff) {
  if (!scheduler_.holds(event.id, event.lease)) {
    co_return makeError(ErrorCode::kConflict, "the event's lease has expired");
  }
  const SystemTime now = std::chrono::system_clock::now();
  std::vector<uint64_t> new_ids;
  Result<void> done = co_await transact([&](const Database& db) -> Result<void> {
    HEARTH_TRY(deleteById(db, kDeleteEvent, event.id, "removing a completed event"));
    return storeHandoff(db, handoff, now, new_ids);
  });
  if (!done) co_return done;
  forget(event.id);
  trackHandoff(new_ids, handoff);
  co_return Result<void>();
}

asio::awaitable<Result<std::optional<std::string>>> SqliteEventQueue::position(std::string source) {
  std::optional<std::string> found;
  Result<void> read = co_await transact([&](const Database& db) -> Result<void> {
    sqlite3_stmt* stmt = db.stmt(kSelectPosition);
    StmtScope scope(stmt);
    HEARTH_TRY(bindText(stmt, 1, source));
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      found = columnText(stmt, 0);
    } else if (rc != SQLITE_DONE) {
      return sqliteError(db.handle(), rc, "reading a stream position");
    }
    return {};
  });
  if (!read) co_return read.error();
  co_return found;
}

asio::awaitable<Result<void>> SqliteEventQueue::advance(std::string source, std::string position,
                                                        Handoff handoff) {
  const SystemTime now = std::chrono::system_clock::now();
  std::vector<uint64_t> new_ids;
  Result<void> done = co_await transact([&](const Database& db) -> Result<void> {
    sqlite3_stmt* stmt = db.stmt(kUpsertPosition);
    StmtScope scope(stmt);
    HEARTH_TRY(bindText(stmt, 1, source));
    HEARTH_TRY(bindText(stmt, 2, position));
    HEARTH_TRY(stepDone(db, stmt, "storing a stream position"));
    return storeHandoff(db, handoff, now, new_ids);
  });
  if (!done) co_return done;
  trackHandoff(new_ids, handoff);
  co_return Result<void>();
}

asio::awaitable<Result<void>> SqliteEventQueue::forgetPosition(std::string source) {
  Result<void> done = co_await transact([&](const Database& db) -> Result<void> {
    sqlite3_stmt* stmt = db.stmt(kDeletePosition);
    StmtScope scope(stmt);
    HEARTH_TRY(bindText(stmt, 1, source));
    return stepDone(db, stmt, "forgetting a stream position");
  });
  co_return done;
}

Result<void> SqliteEventQueue::reschedule(const Event& event, uint32_t attempts,
                                          SystemTime visible_at) {
  if (!scheduler_.holds(event.id, event.lease)) {
    return makeError(ErrorCode::kConflict, "the event's lease has expired");
  }
  scheduler_.reschedule(event.id, visible_at);
  stored_.at(event.id).attempts = attempts;
  const uint64_t id = event.id;
  journal_->submit(
      [id, attempts, visible_at](const Database& db) -> Result<void> {
        sqlite3_stmt* stmt = db.stmt(kUpdateEvent);
        StmtScope scope(stmt);
        HEARTH_TRY(bindInt(stmt, 1, static_cast<int64_t>(id)));
        HEARTH_TRY(bindInt(stmt, 2, attempts));
        HEARTH_TRY(bindInt(stmt, 3, toEpochMillis(visible_at)));
        return stepDone(db, stmt, "rescheduling an event");
      },
      [id](Result<void> r) {
        if (!r) LOG_WARN("event queue: event {}: {}", id, r.error().toString());
      });
  wakeWaiters();  // a waiter may now have an earlier time to wake at
  return {};
}

void SqliteEventQueue::pause(const FunctionTarget& function, SystemTime until) {
  scheduler_.pause(LaneKey{function.account_id, function.function_name}, until);
}

asio::awaitable<Result<DeadLetterPage>> SqliteEventQueue::listDeadLetters(std::string account_id,
                                                                          std::string queue,
                                                                          uint64_t after_id,
                                                                          size_t max) {
  DeadLetterPage page;
  Result<void> read = co_await transact([&](const Database& db) -> Result<void> {
    sqlite3_stmt* stmt = db.stmt(kListDeadLetters);
    StmtScope scope(stmt);
    HEARTH_TRY(bindText(stmt, 1, account_id));
    HEARTH_TRY(bindText(stmt, 2, queue));
    HEARTH_TRY(bindInt(stmt, 3, static_cast<int64_t>(after_id)));
    HEARTH_TRY(bindInt(stmt, 4, static_cast<int64_t>(max) + 1));  // one more: is there a next?
    return collectRows(
        stmt, page.entries,
        [&](sqlite3_stmt* row) { return readDeadLetter(row, account_id, queue); },
        "listing dead letters");
  });
  if (!read) co_return read.error();
  if (page.entries.size() > max) {
    page.entries.resize(max);
    if (max > 0) page.next_after = page.entries.back().id;
  }
  co_return page;
}

asio::awaitable<Result<size_t>> SqliteEventQueue::redrive(std::string account_id, std::string queue,
                                                          std::vector<uint64_t> ids) {
  const SystemTime now = std::chrono::system_clock::now();
  std::vector<std::pair<uint64_t, NewEvent>> moved;
  Result<void> done = co_await transact([&](const Database& db) -> Result<void> {
    Result<std::vector<DeadLetter>> entries = selectDeadLetters(db, account_id, queue, ids);
    if (!entries) return entries.error();
    for (DeadLetter& d : *entries) {
      NewEvent e{d.entry.request_id, d.entry.target, std::move(d.entry.payload), now};
      Result<uint64_t> id = insertEvent(db, e, e.payload, 0, now);
      if (!id) return id.error();
      HEARTH_TRY(deleteById(db, kDeleteDeadLetter, d.id, "removing a redriven dead letter"));
      moved.emplace_back(*id, std::move(e));
    }
    return {};
  });
  if (!done) {
    // A failed transaction leaves nothing behind, so `moved` is only kept on success.
    co_return done.error();
  }
  for (auto& [id, e] : moved) {
    auto payload = std::make_shared<const std::string>(std::move(e.payload));
    track(id, e, std::move(payload));
  }
  if (!moved.empty()) wakeWaiters();
  co_return moved.size();
}

asio::awaitable<Result<size_t>> SqliteEventQueue::deleteDeadLetters(std::string account_id,
                                                                    std::string queue,
                                                                    std::vector<uint64_t> ids) {
  size_t deleted = 0;
  Result<void> done = co_await transact([&](const Database& db) -> Result<void> {
    Result<std::vector<DeadLetter>> entries = selectDeadLetters(db, account_id, queue, ids);
    if (!entries) return entries.error();
    for (const DeadLetter& d : *entries) {
      HEARTH_TRY(deleteById(db, kDeleteDeadLetter, d.id, "deleting a dead letter"));
    }
    deleted = entries->size();
    return {};
  });
  if (!done) co_return done.error();
  co_return deleted;
}

void SqliteEventQueue::close() {
  closed_ = true;
  wakeWaiters();
}

}  // namespace hearth::queue
