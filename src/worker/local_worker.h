// LocalWorker: the worker role in-process. Builds execution environments as process sandboxes
// with hearth-init as PID 1, and runs invocations over the sandbox channel
// (docs/formats/channel.md).
//
// Inside every environment (Lambda's layout):
// Zip functions (an image function's root is its image instead, see planImage):
//   /var/task     the function's code, read-only
//   /var/runtime  the runtime client (python, nodejs), read-only; absent for provided runtimes
//   /var/rapid/init  hearth-init, read-only
//   /tmp          disk-backed scratch of EphemeralStorage size
//
// Thread-safety: createEnvironment() and the environments run on the data-plane executor; the
// blocking parts (code materialization, sandbox creation and teardown) run on `blocking`.
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "codestore/code_cache.h"
#include "sandbox/sandbox.h"
#include "worker/environment.h"

namespace hearth::worker {

struct LocalWorkerOptions {
  std::filesystem::path init_binary;   // build/bin/hearth-init
  std::filesystem::path runtimes_dir;  // contains python/ and nodejs/, each with a bootstrap
  std::filesystem::path work_dir;      // per-sandbox scratch directories go here
  std::string region;
  // Sandboxes run as distinct unprivileged uids/gids from [first_uid, first_uid + uid_count).
  uid_t first_uid = 990000;
  uint32_t uid_count = 10000;
};

class LocalWorker : public Worker {
 public:
  LocalWorker(LocalWorkerOptions options, sandbox::SandboxFactory& sandboxes,
              codestore::CodeCache& code, boost::asio::any_io_executor blocking);
  ~LocalWorker() override;

  boost::asio::awaitable<Result<std::unique_ptr<Environment>>> createEnvironment(
      const EnvironmentSpec& spec) override;

  // Returns a uid to the free list once its sandbox is gone. Thread-safe.
  void releaseUid(uid_t uid);

 private:
  Result<uid_t> allocateUid();
  // The sandbox's environment variables; `image` is an image function's settings, else null.
  std::vector<std::string> environmentFor(const EnvironmentSpec& spec,
                                          const std::string& log_stream,
                                          const codestore::ImageSettings* image) const;
  // Fills what an image function's sandbox runs: the image tree as its root, hearth-init at
  // /hearth-init running Entrypoint + Cmd (as overridden), in WorkingDir, with the image's ENV.
  Result<void> planImage(const EnvironmentSpec& spec, const codestore::CodeLease& code,
                         const std::string& log_stream, sandbox::SandboxSpec& s) const;

  LocalWorkerOptions options_;
  sandbox::SandboxFactory& sandboxes_;
  codestore::CodeCache& code_;
  boost::asio::any_io_executor blocking_;
  std::mutex uid_mu_;
  std::vector<uid_t> free_uids_;  // guarded by uid_mu_
  uid_t next_uid_;                // guarded by uid_mu_
};

// The runtime's bootstrap path inside the environment, or empty for an unknown runtime.
std::string bootstrapFor(const std::string& runtime);

}  // namespace hearth::worker
