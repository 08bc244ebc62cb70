// Group commit for one SQLite database: a writer thread that owns the connection and runs the
// jobs submitted to it, as many as are waiting, inside one transaction and one fsync.
//
// Each job runs inside its own savepoint, so a job that fails is rolled back alone and the others
// still commit. A failure that ends the whole transaction (SQLite rolls back by itself on a full
// disk or an I/O error), or a failing COMMIT, fails every job of the group. `done` is called
// after the group's COMMIT returned (the writes are fsynced, synchronous=FULL) with the job's
// own result or the group's failure; never before, so a caller told "ok" can rely on it.
//
// Thread-safety: submit() may be called from any thread. Jobs and `done` callbacks run on the
// writer thread, in submission order; they must not block on anything but the database, and must
// not call submit() recursively and wait for it.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/result.h"
#include "store/sqlite_db.h"

namespace hearth::queue {

class Journal {
 public:
  using Job = std::function<Result<void>(const store::sqlite::Database&)>;
  using Done = std::function<void(Result<void>)>;

  // Takes the database and starts the writer thread.
  explicit Journal(store::sqlite::Database db);
  // Runs every job already submitted, then stops the thread.
  ~Journal();

  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  void submit(Job job, Done done);

 private:
  struct Pending {
    Job job;
    Done done;
  };

  void run();
  void commitGroup(std::vector<Pending>& group);

  store::sqlite::Database db_;  // used only by the writer thread after construction
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Pending> pending_;  // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  std::thread writer_;
};

}  // namespace hearth::queue
