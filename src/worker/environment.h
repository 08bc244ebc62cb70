// Execution environments as the worker manager sees them: what to build (EnvironmentSpec), and a
// live environment that runs one invocation at a time (Environment). The Worker builds them.
//
// These are interfaces because the worker will later sit in another process or host, and because
// the worker manager's tests drive fakes. The process-sandbox implementation is local_worker.h.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace hearth::worker {

// Identity of an environment's contents. Environments are reused only for an identical key, so a
// sandbox never serves another account, function, version, or configuration revision.
struct EnvironmentKey {
  std::string account_id;
  std::string function_name;
  std::string version;      // "$LATEST" or "1", "2", ...
  std::string revision_id;  // changes on every code or configuration update
  auto operator<=>(const EnvironmentKey&) const = default;
};

struct EnvironmentSpec {
  EnvironmentKey key;
  std::string function_arn;  // unqualified
  std::string runtime;       // "python3.11", "nodejs20.x", "provided.al2023", "provided"
  std::string handler;
  std::string code_id;  // codestore id
  uint32_t memory_mb = 128;
  uint32_t ephemeral_mb = 512;
  std::chrono::seconds timeout{3};
  std::map<std::string, std::string> environment;  // the function's own variables
  std::string region;
  // Image functions (PackageType Image): the code's tree is the root and its image settings say
  // what to run; the function's ImageConfig overrides them (absent: the image's stands).
  bool image = false;
  std::optional<std::vector<std::string>> entry_point;
  std::optional<std::vector<std::string>> command;
  std::optional<std::string> working_directory;
};

struct InvokeRequest {
  std::string request_id;
  std::string payload;
  std::string client_context;  // decoded JSON, or empty
  std::string invoked_function_arn;
};

// How an invocation ended, as Lambda reports it.
struct InvokeResult {
  std::string payload;          // the response, or the error body
  bool function_error = false;  // X-Amz-Function-Error: Unhandled
  std::string error_type;  // for function errors ("Sandbox.Timedout", "Runtime.ExitError", ...)
  bool timed_out = false;
  std::string log;  // what the function wrote during this invocation (and its init)
  std::chrono::microseconds duration{0};                   // invoke phase
  std::optional<std::chrono::microseconds> init_duration;  // set on the first (cold) invocation
  uint64_t max_memory_bytes = 0;
};

// A live environment. Not thread-safe: owned by the worker manager, used by one invocation at a
// time, on the data-plane thread.
class Environment {
 public:
  virtual ~Environment() = default;
  virtual const EnvironmentSpec& spec() const = 0;
  // Log stream name (Lambda's AWS_LAMBDA_LOG_STREAM_NAME) for this environment.
  virtual const std::string& logStream() const = 0;
  // Runs one invocation to its end: success, function error, timeout or runtime exit. Function
  // failures are results, not errors; an Error means the platform failed (e.g. the channel broke
  // in a way that is not the function's doing).
  // REQUIRES: reusable(), and no other invoke() in progress.
  virtual boost::asio::awaitable<Result<InvokeResult>> invoke(InvokeRequest request) = 0;
  // False once the runtime exited, timed out, or failed init: the environment must be destroyed.
  virtual bool reusable() const = 0;
};

class Worker {
 public:
  virtual ~Worker() = default;
  // Builds and starts an environment (code fetched, sandbox created, runtime starting). The
  // runtime's init finishes during the first invoke(), which reports it as init_duration.
  virtual boost::asio::awaitable<Result<std::unique_ptr<Environment>>> createEnvironment(
      const EnvironmentSpec& spec) = 0;
};

}  // namespace hearth::worker
