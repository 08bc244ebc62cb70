// SqliteEventQueue: the embedded EventQueue. Durability is one SQLite database in WAL mode with
// synchronous=FULL (docs/formats/queue.md), written by a Journal (group commit: every append
// waiting while one fsync runs goes into the next one); scheduling — fairness, delays, leases,
// pauses — is in memory (Scheduler), rebuilt from the database at open. After a crash every
// stored event is ready again (leases are not persisted), which is what at-least-once asks.
//
// Memory: per stored event a few hundred bytes of metadata, plus its payload while the payloads
// held in memory stay under Options::payload_cache_bytes; beyond that (and after a restart) a
// payload is read back from the database when its event is leased.
//
// Threading: see EventQueue: one executor drives it. The Journal's writer thread does the
// database work; completions are posted back to the executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "queue/event_queue.h"
#include "queue/journal.h"
#include "queue/scheduler.h"

namespace hearth::queue {

struct SqliteQueueOptions {
  // Payload bytes held in memory for events not yet leased.
  size_t payload_cache_bytes = 64 << 20;
  // The most the database file may grow to (0: as far as the disk allows). Past it, appends fail
  // with kStorageFull exactly as on a full disk.
  uint64_t max_database_bytes = 0;
};

class SqliteEventQueue final : public EventQueue {
 public:
  // Opens (creating if missing) the queue database at `path` and loads its events.
  static Result<std::unique_ptr<SqliteEventQueue>> open(const std::string& path,
                                                        boost::asio::any_io_executor executor,
                                                        SqliteQueueOptions options = {});
  ~SqliteEventQueue() override;

  boost::asio::awaitable<Result<void>> append(NewEvent event) override;
  boost::asio::awaitable<Result<std::vector<Event>>> lease(
      size_t max, std::chrono::milliseconds visibility) override;
  boost::asio::awaitable<Result<void>> complete(const Event& event, Handoff handoff) override;
  Result<void> reschedule(const Event& event, uint32_t attempts, SystemTime visible_at) override;
  void pause(const FunctionTarget& function, SystemTime until) override;
  boost::asio::awaitable<Result<DeadLetterPage>> listDeadLetters(std::string account_id,
                                                                 std::string queue,
                                                                 uint64_t after_id,
                                                                 size_t max) override;
  boost::asio::awaitable<Result<size_t>> redrive(std::string account_id, std::string queue,
                                                 std::vector<uint64_t> ids) override;
  boost::asio::awaitable<Result<size_t>> deleteDeadLetters(std::string account_id,
                                                           std::string queue,
                                                           std::vector<uint64_t> ids) override;
  boost::asio::awaitable<Result<std::optional<std::string>>> position(std::string source) override;
  boost::asio::awaitable<Result<void>> advance(std::string source, std::string position,
                                               Handoff handoff) override;
  boost::asio::awaitable<Result<void>> forgetPosition(std::string source) override;
  void close() override;
  size_t depth() const override { return scheduler_.size(); }

 private:
  // What the queue remembers of a stored event besides its scheduling state.
  struct Stored {
    std::string request_id;
    FunctionTarget target;
    SystemTime accepted_at;
    uint32_t attempts = 0;
    uint32_t depth = 0;
    std::shared_ptr<const std::string> payload;  // null when not held in memory
  };

  SqliteEventQueue(boost::asio::any_io_executor executor, SqliteQueueOptions options);
  Result<void> load(const store::sqlite::Database& db);

  // Runs `job` in the journal and resumes on the executor once it is committed.
  boost::asio::awaitable<Result<void>> transact(Journal::Job job);
  // Stores a hand-off inside a transaction; `new_ids` receives the ids of its events.
  static Result<void> storeHandoff(const store::sqlite::Database& db, const Handoff& handoff,
                                   SystemTime now, std::vector<uint64_t>& new_ids);
  // After the hand-off's transaction committed: schedules its events.
  void trackHandoff(const std::vector<uint64_t>& new_ids, Handoff& handoff);
  // Makes a newly stored event known: scheduled, its payload cached if the budget allows.
  void track(uint64_t id, const NewEvent& event, std::shared_ptr<const std::string> payload);
  void forget(uint64_t id);
  // Turns leases into Events, reading payloads not held in memory.
  boost::asio::awaitable<Result<std::vector<Event>>> materialize(
      std::vector<Scheduler::Leased> leased);
  void wakeWaiters();

  boost::asio::any_io_executor executor_;
  SqliteQueueOptions options_;
  Scheduler scheduler_;
  std::unordered_map<uint64_t, Stored> stored_;  // Invariant: same ids as scheduler_
  size_t cached_bytes_ = 0;
  std::set<boost::asio::steady_timer*> waiters_;  // lease() calls waiting for a ready event
  bool closed_ = false;
  std::unique_ptr<Journal> journal_;  // last: destroyed (flushed) first
};

}  // namespace hearth::queue
