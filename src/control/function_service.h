// The control plane for functions: create, read, update, delete, and reserved concurrency, with
// Lambda's validation rules. Backed by the metadata store (durable) and the code store; every
// function is also held in memory so the invoke path reads it without I/O.
//
// Thread-safety: all methods are safe to call from any thread. Methods that write (create,
// update*, remove, *Concurrency) do blocking I/O — run them off the data-plane thread. Reads
// (get, list, usage) take a mutex briefly and never do I/O.
//
// Concurrent writes to the same function fail with kConflict ("An update is in progress"), as
// Lambda answers ResourceConflictException; a RevisionId that is not the current one fails with
// kPreconditionFailed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "codestore/code_store.h"
#include "common/result.h"
#include "control/function.h"
#include "control/function_name.h"
#include "store/metadata_store.h"

namespace hearth::control {

// Lambda's limits (shared/refs/lambda-api.md §7).
inline constexpr uint32_t kMinMemoryMb = 128;
inline constexpr uint32_t kMaxMemoryMb = 10240;
inline constexpr uint32_t kMaxTimeoutSeconds = 900;
inline constexpr uint32_t kMinEphemeralMb = 512;
inline constexpr uint32_t kMaxEphemeralMb = 10240;
inline constexpr size_t kMaxEnvironmentBytes = 4096;
inline constexpr uint32_t kAccountConcurrencyLimit = 1000;
inline constexpr uint32_t kMinUnreservedConcurrency = 100;
inline constexpr uint64_t kAccountCodeStorageBytes = 80530636800;

// Fields of CreateFunction / UpdateFunctionConfiguration; absent means "unchanged" (update) or
// "Lambda's default" (create). Integers are wide so out-of-range input is reported, not wrapped.
struct FunctionSettings {
  std::optional<std::string> runtime;
  std::optional<std::string> handler;
  std::optional<std::string> role;
  std::optional<std::string> description;
  std::optional<int64_t> memory_mb;
  std::optional<int64_t> timeout_s;
  std::optional<int64_t> ephemeral_mb;
  std::optional<std::map<std::string, std::string>> environment;
  std::optional<std::string> dead_letter_arn;        // DeadLetterConfig.TargetArn; "" removes it
  std::optional<ImageConfigOverrides> image_config;  // replaces the overrides as a whole
};

// The code of CreateFunction / UpdateFunctionCode: a zip (Code.ZipFile), or a container image
// to pull (Code.ImageUri; PackageType Image). Exactly one is set.
struct CodeSource {
  std::string zip;
  std::string image_uri;
  bool isImage() const { return !image_uri.empty(); }
};

// PutFunctionEventInvokeConfig / UpdateFunctionEventInvokeConfig fields; absent means "unset"
// (Put) or "unchanged" (Update). A destination of "" removes it.
struct EventInvokeConfigSettings {
  std::optional<int64_t> max_retries;
  std::optional<int64_t> max_age_s;
  std::optional<std::string> on_success;
  std::optional<std::string> on_failure;
};

struct AccountUsage {
  uint64_t function_count = 0;
  uint64_t total_code_size = 0;
  uint32_t reserved_concurrency_sum = 0;
};

using FunctionPtr = std::shared_ptr<const Function>;

class FunctionService {
 public:
  // `region` is the deployment's: destination ARNs must name it.
  FunctionService(store::MetadataStore& store, codestore::CodeStore& code, std::string region);

  // Loads every function from the store, and drops stored code no function references. Call
  // once before serving.
  Result<void> load();

  // Called after a function's code or configuration changed or it was deleted, with
  // (account_id, name). Runs on the thread that made the change; set before serving.
  void setChangeListener(std::function<void(const std::string&, const std::string&)> listener);

  // The package type follows the code: an image makes an Image function.
  Result<FunctionPtr> create(const std::string& account_id, const std::string& name,
                             const FunctionSettings& settings, const CodeSource& code);
  // nullptr-free: kNotFound if the function does not exist.
  Result<FunctionPtr> get(const std::string& account_id, const std::string& name) const;
  // The version `ref` names: its qualifier must be empty or an existing version (only $LATEST
  // exists until versions are published). kNotFound otherwise ("Function not found: ...").
  Result<FunctionPtr> resolve(const std::string& account_id, const FunctionRef& ref) const;
  // Functions of the account, sorted by name.
  std::vector<FunctionPtr> list(const std::string& account_id) const;
  // The code must be of the function's package type (kInvalidParameter, Lambda's message).
  Result<FunctionPtr> updateCode(const std::string& account_id, const std::string& name,
                                 const CodeSource& code, const std::string& revision_id);
  Result<FunctionPtr> updateConfiguration(const std::string& account_id, const std::string& name,
                                          const FunctionSettings& settings,
                                          const std::string& revision_id);
  Result<void> remove(const std::string& account_id, const std::string& name);

  // Reserved concurrency: 0..(1000 - 100 - other reservations).
  Result<FunctionPtr> putConcurrency(const std::string& account_id, const std::string& name,
                                     int64_t reserved);
  Result<FunctionPtr> deleteConcurrency(const std::string& account_id, const std::string& name);

  // The function's EventInvokeConfig: Put replaces it (`merge` false), Update changes only the
  // given fields (`merge` true; creating it if there was none). Not part of the configuration:
  // no new RevisionId. Errors: kNotFound, kInvalidParameter / kUnsupported (ranges,
  // destinations; see control/destination.h).
  Result<FunctionPtr> putEventInvokeConfig(const std::string& account_id, const std::string& name,
                                           const EventInvokeConfigSettings& settings, bool merge);
  // kNotFound if the function, or its EventInvokeConfig, does not exist.
  Result<FunctionPtr> deleteEventInvokeConfig(const std::string& account_id,
                                              const std::string& name);

  AccountUsage usage(const std::string& account_id) const;
  // The sum of reserved concurrency in the account; O(1), for the invoke path.
  uint32_t reservedConcurrencySum(const std::string& account_id) const;

 private:
  using Key = std::pair<std::string, std::string>;  // (account_id, name)

  // Marks `key` as being written; kConflict if it already is. Ends with finishWrite().
  Result<FunctionPtr> beginWrite(const Key& key, bool must_exist);
  // Persists and publishes `next`. A new RevisionId and LastModified are stamped unless
  // `new_revision` is false (reserved concurrency is not part of the configuration).
  Result<FunctionPtr> commit(const Key& key, Function next, bool new_revision = true);
  // Stores code and takes one reference on it for the caller.
  Result<codestore::CodeInfo> putCode(const std::string& account_id, const CodeSource& code);
  void finishWrite(const Key& key);
  // One write to an existing function: the update-in-progress guard, the RevisionId
  // precondition (empty: any), `change` deriving the next state, the commit, code references,
  // and (with a new revision) the change notification.
  Result<FunctionPtr> mutate(const Key& key, const std::string& revision_id, bool new_revision,
                             const std::function<Result<Function>(const Function&)>& change);
  // Points `f` at stored code.
  static void setCode(Function& f, const codestore::CodeInfo& code, const CodeSource& source);
  // Drops one reference; removes the code when none is left.
  void releaseCode(const std::string& code_id);
  void notify(const Key& key);

  store::MetadataStore& store_;
  codestore::CodeStore& code_;
  const std::string region_;
  std::function<void(const std::string&, const std::string&)> listener_;

  std::mutex code_mu_;  // held by code removals and by putCode()'s reference; before mu_
  mutable std::mutex mu_;
  std::map<Key, FunctionPtr> functions_;  // guarded by mu_
  std::set<Key> writing_;                 // guarded by mu_: keys with a write in progress
  std::map<std::string, int> code_refs_;  // guarded by mu_: code id -> functions using it
  // Guarded by mu_. Invariant: per account, the sum of reserved_concurrency over functions_.
  std::map<std::string, uint32_t> reserved_sum_;
};

// Validates `settings` against Lambda's rules and applies them to `f` (of `region`). Exposed for
// tests.
Result<void> applySettings(const FunctionSettings& settings, Function& f, std::string_view region);

}  // namespace hearth::control
