#include "control/function_service.h"

#include <algorithm>
#include <array>

#include "common/ids.h"
#include "control/destination.h"
#include "control/function_name.h"
#include "control/validation.h"

namespace hearth::control {
namespace {

constexpr std::array<std::string_view, 5> kRuntimes = {
    "python3.11", "nodejs20.x", "provided.al2023", "provided.al2", "provided"};

// Variables Lambda sets itself and refuses to let a function override.
constexpr std::array<std::string_view, 14> kReservedVariables = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
};

bool isValidVariableName(std::string_view k) {
  if (k.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(k[0])) return false;
  return std::all_of(k.begin(), k.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '_'; });
}

Result<void> validateEnvironment(const std::map<std::string, std::string>& env) {
  size_t bytes = 0;
  std::string reserved;
  for (const auto& [k, v] : env) {
    if (!isValidVariableName(k)) {
      return makeError(ErrorCode::kInvalidParameter,
                       "1 validation error detected: Value at 'environment.variables' failed to "
                       "satisfy constraint: Map keys must satisfy constraint: [Member must "
                       "satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]");
    }
    if (std::find(kReservedVariables.begin(), kReservedVariables.end(), k) !=
            kReservedVariables.end() ||
        k.starts_with("AWS_LAMBDA_")) {
      reserved += reserved.empty() ? k : "," + k;
    }
    bytes += k.size() + v.size();
  }
  if (!reserved.empty()) {
    return makeError(ErrorCode::kInvalidParameter,
                     "Lambda was unable to configure your environment variables because the "
                     "environment variables you have provided contains reserved keys that are "
                     "currently not supported for modification. Reserved keys used in this "
                     "request: " +
                         reserved);
  }
  if (bytes > kMaxEnvironmentBytes) {
    return makeError(ErrorCode::kInvalidParameter,
                     "Lambda was unable to configure your environment variables because the "
                     "environment variables you have provided exceeded the 4KB limit. String "
                     "measured: " +
                         std::to_string(bytes) + " bytes");
  }
  return {};
}

bool isProvided(std::string_view runtime) { return runtime.starts_with("provided"); }

// UpdateFunctionCode / UpdateFunctionConfiguration's optimistic lock; empty means "any".
Result<void> checkRevision(const Function& current, const std::string& revision_id) {
  if (revision_id.empty() || revision_id == current.revision_id) return {};
  return makeError(ErrorCode::kPreconditionFailed,
                   "The Revision Id provided does not match the latest Revision Id. Call the "
                   "GetFunction/GetAlias API to retrieve the latest Revision Id");
}

}  // namespace

Result<void> applySettings(const FunctionSettings& s, Function& f, std::string_view region) {
  if (s.runtime) {
    if (std::find(kRuntimes.begin(), kRuntimes.end(), *s.runtime) == kRuntimes.end()) {
      return makeError(ErrorCode::kInvalidParameter,
                       "Value " + *s.runtime +
                           " at 'runtime' failed to satisfy constraint: Member must satisfy enum "
                           "value set: [python3.11, nodejs20.x, provided.al2023, provided.al2, "
                           "provided] or be a valid ARN");
    }
    f.runtime = *s.runtime;
  }
  if (s.handler) {
    if (s.handler->size() > 128 || s.handler->find_first_of(" \t\r\n") != std::string::npos) {
      return makeError(ErrorCode::kInvalidParameter,
                       "1 validation error detected: Value '" + *s.handler +
                           "' at 'handler' failed to satisfy constraint: Member must satisfy "
                           "regular expression pattern: [^\\s]+");
    }
    f.handler = *s.handler;
  }
  if (s.role) f.role = *s.role;
  if (s.description) {
    if (s.description->size() > 256) {
      return makeError(ErrorCode::kInvalidParameter,
                       "1 validation error detected: Value at 'description' failed to satisfy "
                       "constraint: Member must have length less than or equal to 256");
    }
    f.description = *s.description;
  }
  if (s.memory_mb) {
    Result<int64_t> v = inRange("memorySize", *s.memory_mb, kMinMemoryMb, kMaxMemoryMb);
    if (!v) return v.error();
    f.memory_mb = static_cast<uint32_t>(*v);
  }
  if (s.timeout_s) {
    Result<int64_t> v = inRange("timeout", *s.timeout_s, 1, kMaxTimeoutSeconds);
    if (!v) return v.error();
    f.timeout_s = static_cast<uint32_t>(*v);
  }
  if (s.ephemeral_mb) {
    Result<int64_t> v =
        inRange("ephemeralStorage.size", *s.ephemeral_mb, kMinEphemeralMb, kMaxEphemeralMb);
    if (!v) return v.error();
    f.ephemeral_mb = static_cast<uint32_t>(*v);
  }
  if (s.environment) {
    HEARTH_TRY(validateEnvironment(*s.environment));
    f.environment = *s.environment;
  }
  if (s.dead_letter_arn) {
    if (!s.dead_letter_arn->empty()) {
      Result<queue::Destination> d = parseDestinationArn(*s.dead_letter_arn, region, f.account_id,
                                                         DestinationUse::kDeadLetterConfig);
      if (!d) return d.error();
    }
    f.dead_letter_arn = *s.dead_letter_arn;
  }
  if (s.image_config) {
    if (f.package_type != "Image") {
      return makeError(ErrorCode::kInvalidParameter,
                       "The ImageConfig parameter is not supported for functions with a Zip "
                       "package type.");
    }
    f.image_config = *s.image_config;
  }
  if (f.package_type == "Image") {
    // The image says what to run.
    if (!f.runtime.empty() || !f.handler.empty()) {
      return makeError(ErrorCode::kInvalidParameter,
                       "The Runtime and Handler parameters are not supported for functions with "
                       "an Image package type.");
    }
    return {};
  }
  if (f.runtime.empty()) {
    return makeError(ErrorCode::kInvalidParameter,
                     "The Runtime parameter is required for functions with a Zip package type.");
  }
  if (f.handler.empty() && !isProvided(f.runtime)) {
    return makeError(ErrorCode::kInvalidParameter,
                     "The Handler parameter is required for functions with a Zip package type.");
  }
  return {};
}

FunctionService::FunctionService(store::MetadataStore& store, codestore::CodeStore& code,
                                 std::string region)
    : store_(store), code_(code), region_(std::move(region)) {}

Result<void> FunctionService::load() {
  Result<std::vector<store::FunctionRecord>> records = store_.listFunctions();
  if (!records) return records.error();
  std::lock_guard lock(mu_);
  for (const store::FunctionRecord& r : *records) {
    Result<Function> f = decodeFunctionDocument(r.document);
    if (!f) {
      return makeError(ErrorCode::kIo,
                       "function " + r.account_id + "/" + r.name + ": " + f.error().message);
    }
    f->account_id = r.account_id;
    f->name = r.name;
    f->version = r.version;
    ++code_refs_[f->code_id];
    reserved_sum_[r.account_id] += f->reserved_concurrency.value_or(0);
    functions_[{r.account_id, r.name}] = std::make_shared<const Function>(std::move(*f));
  }
  // Code stored by an upload whose function never committed (a crash between the two) has no
  // reference: it goes now.
  std::set<std::string> referenced;
  for (const auto& [id, refs] : code_refs_) referenced.insert(id);
  return code_.retainOnly(referenced);
}

void FunctionService::setChangeListener(
    std::function<void(const std::string&, const std::string&)> listener) {
  listener_ = std::move(listener);
}

Result<FunctionPtr> FunctionService::beginWrite(const Key& key, bool must_exist) {
  std::lock_guard lock(mu_);
  auto it = functions_.find(key);
  if (writing_.count(key)) {
    return makeError(ErrorCode::kConflict,
                     "The operation cannot be performed at this time. An update is in progress "
                     "for resource: " +
                         key.second);
  }
  if (must_exist && it == functions_.end()) {
    return makeError(ErrorCode::kNotFound, std::string(kFunctionNotFoundPrefix) + key.second);
  }
  if (!must_exist && it != functions_.end()) {
    return makeError(ErrorCode::kConflict, "Function already exist: " + key.second);
  }
  writing_.insert(key);
  return it == functions_.end() ? FunctionPtr() : it->second;
}

void FunctionService::finishWrite(const Key& key) {
  std::lock_guard lock(mu_);
  writing_.erase(key);
}

Result<FunctionPtr> FunctionService::commit(const Key& key, Function next, bool new_revision) {
  if (new_revision) {
    next.revision_id = newUuid();
    // Milliseconds: the precision the document keeps, so a restart changes nothing.
    next.last_modified =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
  store::FunctionRecord record{key.first, key.second, next.version, encodeFunctionDocument(next)};
  Result<void> put = store_.putFunction(record);
  if (!put) return put.error();
  auto published = std::make_shared<const Function>(std::move(next));
  {
    std::lock_guard lock(mu_);
    FunctionPtr& slot = functions_[key];
    uint32_t& sum = reserved_sum_[key.first];
    sum -= slot ? slot->reserved_concurrency.value_or(0) : 0;
    sum += published->reserved_concurrency.value_or(0);
    slot = published;
  }
  return FunctionPtr(published);
}

Result<codestore::CodeInfo> FunctionService::putCode(const std::string& account_id,
                                                     const CodeSource& code) {
  // Stores run unlocked, so one slow upload or image pull holds up no other. A put may return an
  // object that a concurrent releaseCode() is removing; the reference is taken under code_mu_,
  // which removals hold, and only while the object is still stored (else it is stored again).
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    Result<codestore::CodeInfo> info = code.isImage() ? code_.putImage(account_id, code.image_uri)
                                                      : code_.put(account_id, code.zip);
    if (!info) return info;
    std::lock_guard code_lock(code_mu_);
    Result<bool> stored = code_.contains(info->id);
    if (!stored) return stored.error();
    if (*stored) {
      std::lock_guard lock(mu_);
      ++code_refs_[info->id];
      return info;
    }
    if (attempt == kAttempts) {
      return makeError(ErrorCode::kConflict,
                       "The operation cannot be performed at this time: the same code was being "
                       "deleted. Try again.");
    }
  }
}

void FunctionService::setCode(Function& f, const codestore::CodeInfo& code,
                              const CodeSource& source) {
  f.code_id = code.id;
  f.code_sha256 = code.sha256_base64;
  f.code_size = code.zipped_bytes;
  f.code_unzipped_size = code.unzipped_bytes;
  f.image_uri = source.image_uri;
  f.resolved_image_uri = code.resolved_image_uri;
}

void FunctionService::releaseCode(const std::string& code_id) {
  std::lock_guard code_lock(code_mu_);
  {
    std::lock_guard lock(mu_);
    auto it = code_refs_.find(code_id);
    if (it == code_refs_.end() || --it->second > 0) return;
    code_refs_.erase(it);
  }
  // Unreferenced now; a failure only leaks disk space, which the next put of it reuses.
  (void)code_.remove(code_id);
}

void FunctionService::notify(const Key& key) {
  if (listener_) listener_(key.first, key.second);
}

Result<FunctionPtr> FunctionService::create(const std::string& account_id, const std::string& name,
                                            const FunctionSettings& settings,
                                            const CodeSource& source) {
  if (!isValidFunctionName(name)) {
    return makeError(ErrorCode::kInvalidParameter,
                     "1 validation error detected: Value '" + name +
                         "' at 'functionName' failed to satisfy constraint: Member must satisfy "
                         "regular expression pattern: [a-zA-Z0-9-_]+ and have length less than "
                         "or equal to 64");
  }
  Function f;
  f.account_id = account_id;
  f.name = name;
  f.package_type = source.isImage() ? "Image" : "Zip";
  HEARTH_TRY(applySettings(settings, f, region_));
  if (f.role.empty()) {
    return makeError(ErrorCode::kInvalidParameter, "The role defined for the function is empty.");
  }
  Key key{account_id, name};
  Result<FunctionPtr> begun = beginWrite(key, /*must_exist=*/false);
  if (!begun) return begun.error();
  Result<codestore::CodeInfo> code = putCode(account_id, source);
  if (!code) {
    finishWrite(key);
    return code.error();
  }
  Result<FunctionPtr> done =
      usage(account_id).total_code_size + code->zipped_bytes > kAccountCodeStorageBytes
          ? Result<FunctionPtr>(
                makeError(ErrorCode::kCodeStorageExceeded, "Code storage limit exceeded."))
          : Result<FunctionPtr>(FunctionPtr());
  if (done) {
    setCode(f, *code, source);
    done = commit(key, std::move(f));
  }
  if (!done) releaseCode(code->id);
  finishWrite(key);
  return done;
}

Result<FunctionPtr> FunctionService::get(const std::string& account_id,
                                         const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = functions_.find({account_id, name});
  if (it == functions_.end()) {
    return makeError(ErrorCode::kNotFound, std::string(kFunctionNotFoundPrefix) + name);
  }
  return it->second;
}

std::vector<FunctionPtr> FunctionService::list(const std::string& account_id) const {
  std::lock_guard lock(mu_);
  std::vector<FunctionPtr> out;
  for (auto it = functions_.lower_bound({account_id, ""});
       it != functions_.end() && it->first.first == account_id; ++it) {
    out.push_back(it->second);
  }
  return out;
}

Result<FunctionPtr> FunctionService::resolve(const std::string& account_id,
                                             const FunctionRef& ref) const {
  Result<FunctionPtr> fn = get(account_id, ref.name);
  if (!fn) return fn;
  if (!ref.qualifier.empty() && ref.qualifier != (*fn)->version) {
    return makeError(ErrorCode::kNotFound,
                     std::string(kFunctionNotFoundPrefix) + ref.name + ":" + ref.qualifier);
  }
  return fn;
}

Result<FunctionPtr> FunctionService::mutate(
    const Key& key, const std::string& revision_id, bool new_revision,
    const std::function<Result<Function>(const Function&)>& change) {
  Result<FunctionPtr> current = beginWrite(key, /*must_exist=*/true);
  if (!current) return current.error();
  const Function& before = **current;
  Result<FunctionPtr> done = [&]() -> Result<FunctionPtr> {
    HEARTH_TRY(checkRevision(before, revision_id));
    Result<Function> next = change(before);
    if (!next) return next.error();
    std::string new_code_id = next->code_id;
    Result<FunctionPtr> committed = commit(key, std::move(*next), new_revision);
    // New code came with a reference of its own (putCode): on success the old code gives up
    // this function's reference, on failure the new one does.
    if (new_code_id != before.code_id) releaseCode(committed ? before.code_id : new_code_id);
    return committed;
  }();
  finishWrite(key);
  if (done && new_revision) notify(key);
  return done;
}

Result<FunctionPtr> FunctionService::updateCode(const std::string& account_id,
                                                const std::string& name, const CodeSource& source,
                                                const std::string& revision_id) {
  return mutate({account_id, name}, revision_id, true,
                [&](const Function& current) -> Result<Function> {
                  if (source.isImage() != (current.package_type == "Image")) {
                    return makeError(ErrorCode::kInvalidParameter,
                                     current.package_type == "Image"
                                         ? "Please provide ImageUri when updating a function "
                                           "with packageType Image."
                                         : "Please don't provide ImageUri when updating a "
                                           "function with packageType Zip.");
                  }
                  Result<codestore::CodeInfo> code = putCode(account_id, source);
                  if (!code) return code.error();
                  // The same code again: this function holds a reference to it already.
                  if (code->id == current.code_id) releaseCode(code->id);
                  Function next = current;
                  setCode(next, *code, source);
                  return next;
                });
}

Result<FunctionPtr> FunctionService::updateConfiguration(const std::string& account_id,
                                                         const std::string& name,
                                                         const FunctionSettings& settings,
                                                         const std::string& revision_id) {
  return mutate({account_id, name}, revision_id, true,
                [&](const Function& current) -> Result<Function> {
                  Function next = current;
                  HEARTH_TRY(applySettings(settings, next, region_));
                  return next;
                });
}

Result<void> FunctionService::remove(const std::string& account_id, const std::string& name) {
  Key key{account_id, name};
  Result<FunctionPtr> current = beginWrite(key, /*must_exist=*/true);
  if (!current) return current.error();
  Result<void> deleted = store_.deleteFunction(account_id, name);
  if (deleted) {
    {
      std::lock_guard lock(mu_);
      reserved_sum_[key.first] -= (*current)->reserved_concurrency.value_or(0);
      functions_.erase(key);
    }
    releaseCode((*current)->code_id);
  }
  finishWrite(key);
  if (deleted) notify(key);
  return deleted;
}

Result<FunctionPtr> FunctionService::putConcurrency(const std::string& account_id,
                                                    const std::string& name, int64_t reserved) {
  if (reserved < 0) {
    return rangeError("reservedConcurrentExecutions", reserved, "value greater than or equal to 0");
  }
  // Reserved concurrency is not part of the configuration: no new revision, no retirement.
  return mutate({account_id, name}, /*revision_id=*/{}, false,
                [&](const Function& current) -> Result<Function> {
                  uint32_t others =
                      reservedConcurrencySum(account_id) - current.reserved_concurrency.value_or(0);
                  if (static_cast<uint64_t>(reserved) + others >
                      kAccountConcurrencyLimit - kMinUnreservedConcurrency) {
                    return makeError(
                        ErrorCode::kInvalidParameter,
                        "Specified ReservedConcurrentExecutions for function decreases "
                        "account's UnreservedConcurrentExecution below its minimum value of [" +
                            std::to_string(kMinUnreservedConcurrency) + "].");
                  }
                  Function next = current;
                  next.reserved_concurrency = static_cast<uint32_t>(reserved);
                  return next;
                });
}

Result<FunctionPtr> FunctionService::deleteConcurrency(const std::string& account_id,
                                                       const std::string& name) {
  return mutate({account_id, name}, /*revision_id=*/{}, false,
                [](const Function& current) -> Result<Function> {
                  Function next = current;
                  next.reserved_concurrency.reset();
                  return next;
                });
}

Result<FunctionPtr> FunctionService::putEventInvokeConfig(const std::string& account_id,
                                                          const std::string& name,
                                                          const EventInvokeConfigSettings& s,
                                                          bool merge) {
  EventInvokeConfig next_config;
  if (s.max_retries) {
    Result<int64_t> v =
        inRange("maximumRetryAttempts", *s.max_retries, 0, queue::kMaxRetryAttempts);
    if (!v) return v.error();
    next_config.max_retries = static_cast<uint32_t>(*v);
  }
  if (s.max_age_s) {
    Result<int64_t> v = inRange("maximumEventAgeInSeconds", *s.max_age_s,
                                queue::kMinEventAge.count(), queue::kMaxEventAge.count());
    if (!v) return v.error();
    next_config.max_age_s = static_cast<uint32_t>(*v);
  }
  for (const std::optional<std::string>* arn : {&s.on_success, &s.on_failure}) {
    if (!*arn || (*arn)->empty()) continue;
    Result<queue::Destination> d =
        parseDestinationArn(**arn, region_, account_id, DestinationUse::kEventInvokeConfig);
    if (!d) return d.error();
  }
  return mutate({account_id, name}, /*revision_id=*/{}, false,
                [&](const Function& current) -> Result<Function> {
                  EventInvokeConfig c = next_config;
                  if (merge && current.event_invoke_config) {
                    const EventInvokeConfig& old = *current.event_invoke_config;
                    if (!s.max_retries) c.max_retries = old.max_retries;
                    if (!s.max_age_s) c.max_age_s = old.max_age_s;
                    c.on_success = old.on_success;
                    c.on_failure = old.on_failure;
                  }
                  if (s.on_success) c.on_success = *s.on_success;
                  if (s.on_failure) c.on_failure = *s.on_failure;
                  c.last_modified = std::chrono::system_clock::now();
                  Function next = current;
                  next.event_invoke_config = std::move(c);
                  return next;
                });
}

Result<FunctionPtr> FunctionService::deleteEventInvokeConfig(const std::string& account_id,
                                                             const std::string& name) {
  return mutate({account_id, name}, /*revision_id=*/{}, false,
                [&](const Function& current) -> Result<Function> {
                  if (!current.event_invoke_config) {
                    return makeError(ErrorCode::kNotFound,
                                     "The function " + name + " doesn't have an EventInvokeConfig");
                  }
                  Function next = current;
                  next.event_invoke_config.reset();
                  return next;
                });
}

uint32_t FunctionService::reservedConcurrencySum(const std::string& account_id) const {
  std::lock_guard lock(mu_);
  auto it = reserved_sum_.find(account_id);
  return it == reserved_sum_.end() ? 0 : it->second;
}

AccountUsage FunctionService::usage(const std::string& account_id) const {
  AccountUsage u;
  for (const FunctionPtr& f : list(account_id)) {
    ++u.function_count;
    u.total_code_size += f->code_size;
    u.reserved_concurrency_sum += f->reserved_concurrency.value_or(0);
  }
  return u;
}

}  // namespace hearth::control
