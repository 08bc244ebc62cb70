// Event source mappings (CreateEventSourceMapping and friends): which Redis stream feeds which
// function, and how, with Lambda's fields, defaults and ranges for stream sources. Stored in the
// metadata store (document: docs/formats/metadata.md); held in memory for reads.
//
// Hearth reads self-hosted Redis streams (docs/formats/redis-stream-source.md); other sources
// (Kinesis, DynamoDB, SQS, Kafka ARNs) are refused with a message saying so.
//
// Thread-safety: every method may be called from any thread. Writes do blocking I/O (run them off
// the data plane); reads take a mutex briefly.
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

#include "common/result.h"
#include "common/time_format.h"
#include "control/function_name.h"
#include "control/function_service.h"
#include "store/metadata_store.h"

namespace hearth::control {

// Lambda's limits for stream sources.
inline constexpr uint32_t kDefaultStreamBatchSize = 100;
inline constexpr uint32_t kMaxStreamBatchSize = 10000;
inline constexpr uint32_t kMaxBatchingWindowSeconds = 300;
inline constexpr int32_t kMaxStreamRetryAttempts = 10000;
inline constexpr int32_t kMinRecordAgeSeconds = 60;
inline constexpr int32_t kMaxRecordAgeSeconds = 604800;
inline constexpr uint32_t kMaxParallelizationFactor = 10;

struct EventSourceMapping {
  std::string uuid;
  std::string account_id;
  std::string function_name;
  std::string qualifier;          // as the FunctionName named it; "" for none
  std::string event_source_arn;   // canonical (eventsources::redis::formatStreamArn)
  std::string starting_position;  // TRIM_HORIZON or LATEST
  uint32_t batch_size = kDefaultStreamBatchSize;
  uint32_t batching_window_s = 0;
  bool enabled = true;
  int32_t max_retry_attempts = -1;  // -1: until the records expire
  int32_t max_record_age_s = -1;    // -1: never
  bool bisect_on_error = false;
  uint32_t parallelization_factor = 1;
  std::string on_failure;  // DestinationConfig.OnFailure.Destination; "" for none
  SystemTime last_modified{};
};

using MappingPtr = std::shared_ptr<const EventSourceMapping>;

// Fields of Create/UpdateEventSourceMapping; absent means Lambda's default (create) or
// unchanged (update). Wide integers so that out-of-range input is reported, not wrapped.
struct EventSourceMappingSettings {
  std::optional<std::string> event_source_arn;   // create only
  std::optional<std::string> starting_position;  // create only
  std::optional<int64_t> batch_size;
  std::optional<int64_t> batching_window_s;
  std::optional<bool> enabled;
  std::optional<int64_t> max_retry_attempts;
  std::optional<int64_t> max_record_age_s;
  std::optional<bool> bisect_on_error;
  std::optional<int64_t> parallelization_factor;
  std::optional<std::string> on_failure;  // "" removes it
};

// The persisted document.
std::string encodeMappingDocument(const EventSourceMapping& m);
Result<EventSourceMapping> decodeMappingDocument(std::string_view json);

class EventSourceMappingService {
 public:
  // Called after a mapping was created or changed (with it) or deleted (nullptr, with its
  // uuid), on the thread that made the change. Set before serving.
  using Listener = std::function<void(const std::string& uuid, MappingPtr mapping)>;

  EventSourceMappingService(store::MetadataStore& store, const FunctionService& functions,
                            std::string region);

  Result<void> load();
  void setChangeListener(Listener listener);

  // Errors: kNotFound (no such function), kInvalidParameter (a field out of range, a malformed
  // ARN, a missing StartingPosition), kUnsupported (a source or feature Hearth lacks),
  // kConflict (the function already has a mapping for this source).
  Result<MappingPtr> create(const std::string& account_id, const FunctionRef& function,
                            const EventSourceMappingSettings& settings);
  // kNotFound: "The resource you requested does not exist.", as Lambda says it.
  Result<MappingPtr> get(const std::string& account_id, const std::string& uuid) const;
  // The account's mappings, by uuid; filtered by function name and/or source ARN (compared in
  // canonical form) if given.
  std::vector<MappingPtr> list(const std::string& account_id,
                               const std::optional<std::string>& function_name,
                               const std::optional<std::string>& event_source_arn) const;
  // `function`: a new FunctionName, if given. Create-only fields are refused.
  Result<MappingPtr> update(const std::string& account_id, const std::string& uuid,
                            const std::optional<FunctionRef>& function,
                            const EventSourceMappingSettings& settings);
  Result<MappingPtr> remove(const std::string& account_id, const std::string& uuid);

  // Every mapping of every account (to start their pollers).
  std::vector<MappingPtr> all() const;

 private:
  Result<void> apply(const EventSourceMappingSettings& s, EventSourceMapping& m) const;
  Result<void> checkFunction(const std::string& account_id, const FunctionRef& function) const;

  store::MetadataStore& store_;
  const FunctionService& functions_;
  const std::string region_;
  Listener listener_;
  std::mutex write_mu_;  // serialises writes (a duplicate check and its insert are one step)
  mutable std::mutex mu_;
  std::map<std::string, MappingPtr> mappings_;  // guarded by mu_; by uuid
};

}  // namespace hearth::control
