#include "queue/journal.h"

#include <optional>
#include <utility>

namespace hearth::queue {

Journal::Journal(store::sqlite::Database db) : db_(std::move(db)), writer_([this] { run(); }) {}

Journal::~Journal() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

void Journal::submit(Job job, Done done) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back(Pending{std::move(job), std::move(done)});
  }
  wake_.notify_one();
}

void Journal::run() {
  std::vector<Pending> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything submitted has run
      group.swap(pending_);
    }
    commitGroup(group);
    group.clear();
  }
}

void Journal::commitGroup(std::vector<Pending>& group) {
  std::vector<Result<void>> results(group.size());
  std::optional<Error> group_error;
  if (Result<void> begin = db_.exec("BEGIN IMMEDIATE", "starting a queue transaction"); !begin) {
    group_error = std::move(begin).error();
  }
  for (size_t i = 0; i < group.size() && !group_error; ++i) {
    if (Result<void> sp = db_.exec("SAVEPOINT job", "starting a savepoint"); !sp) {
      group_error = std::move(sp).error();
      break;
    }
    results[i] = group[i].job(db_);
    // SQLite ends the whole transaction by itself on some failures (a full disk, an I/O error);
    // then no savepoint is left to release and nothing of the group will commit.
    if (sqlite3_get_autocommit(db_.handle()) != 0) {
      group_error = results[i] ? makeError(ErrorCode::kIo, "the queue transaction was rolled back")
                               : results[i].error();
      break;
    }
    const char* end = results[i] ? "RELEASE job" : "ROLLBACK TO job; RELEASE job";
    if (Result<void> r = db_.exec(end, "ending a savepoint"); !r)
      group_error = std::move(r).error();
  }
  if (!group_error) {
    if (Result<void> commit = db_.exec("COMMIT", "committing queue writes"); !commit) {
      group_error = std::move(commit).error();
    }
  }
  if (group_error && sqlite3_get_autocommit(db_.handle()) == 0) {
    // Nothing of a failed group may commit later with another group's writes.
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  for (size_t i = 0; i < group.size(); ++i) {
    group[i].done(group_error ? Result<void>(*group_error) : std::move(results[i]));
  }
}

}  // namespace hearth::queue
