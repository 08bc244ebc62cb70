#include "control/event_source_mapping.h"

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "control/destination.h"
#include "control/validation.h"
#include "eventsources/redis/stream.h"

namespace hearth::control {
namespace {

using nlohmann::json;

Error notFound() {
  return makeError(ErrorCode::kNotFound, "The resource you requested does not exist.");
}

// EventSourceArn: a Redis stream's, canonicalised; any other source is named and refused.
Result<std::string> sourceArn(const std::string& arn) {
  for (std::string_view other : {"arn:aws:kinesis:", "arn:aws:dynamodb:", "arn:aws:sqs:",
                                 "arn:aws:kafka:", "arn:aws:mq:", "arn:aws:docdb:"}) {
    if (arn.starts_with(other)) {
      return makeError(ErrorCode::kUnsupported,
                       "Event source " + arn +
                           " is not supported: Hearth reads Redis streams "
                           "(arn:aws:redis:<region>:<account>:stream/<host>:<port>/<db>/<key>).");
    }
  }
  Result<eventsources::redis::StreamArn> parsed = eventsources::redis::parseStreamArn(arn);
  if (!parsed) return parsed.error();
  return eventsources::redis::formatStreamArn(*parsed);
}

}  // namespace

std::string encodeMappingDocument(const EventSourceMapping& m) {
  return json{
      {"FunctionName", m.function_name},
      {"Qualifier", m.qualifier},
      {"EventSourceArn", m.event_source_arn},
      {"StartingPosition", m.starting_position},
      {"BatchSize", m.batch_size},
      {"MaximumBatchingWindowInSeconds", m.batching_window_s},
      {"Enabled", m.enabled},
      {"MaximumRetryAttempts", m.max_retry_attempts},
      {"MaximumRecordAgeInSeconds", m.max_record_age_s},
      {"BisectBatchOnFunctionError", m.bisect_on_error},
      {"ParallelizationFactor", m.parallelization_factor},
      {"OnFailure", m.on_failure},
      {"LastModifiedMs", toEpochMillis(m.last_modified)},
  }
      .dump();
}

Result<EventSourceMapping> decodeMappingDocument(std::string_view text) {
  const Error corrupt = makeError(ErrorCode::kIo, "corrupt event source mapping document");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return corrupt;
  EventSourceMapping m;
  auto str = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto boolean = [&](const char* key, bool& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_boolean()) return false;
    out = it->get<bool>();
    return true;
  };
  auto integer = [&](const char* key, auto& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return false;
    out = it->get<std::remove_reference_t<decltype(out)>>();
    return true;
  };
  int64_t ms = 0;
  bool ok = str("FunctionName", m.function_name) && str("Qualifier", m.qualifier) &&
            str("EventSourceArn", m.event_source_arn) &&
            str("StartingPosition", m.starting_position) && integer("BatchSize", m.batch_size) &&
            integer("MaximumBatchingWindowInSeconds", m.batching_window_s) &&
            boolean("Enabled", m.enabled) &&
            integer("MaximumRetryAttempts", m.max_retry_attempts) &&
            integer("MaximumRecordAgeInSeconds", m.max_record_age_s) &&
            boolean("BisectBatchOnFunctionError", m.bisect_on_error) &&
            integer("ParallelizationFactor", m.parallelization_factor) &&
            str("OnFailure", m.on_failure) && integer("LastModifiedMs", ms);
  if (!ok) return corrupt;
  m.last_modified = fromEpochMillis(ms);
  return m;
}

EventSourceMappingService::EventSourceMappingService(store::MetadataStore& store,
                                                     const FunctionService& functions,
                                                     std::string region)
    : store_(store), functions_(functions), region_(std::move(region)) {}

Result<void> EventSourceMappingService::load() {
  Result<std::vector<store::EventSourceMappingRecord>> records = store_.listEventSourceMappings();
  if (!records) return records.error();
  std::lock_guard lock(mu_);
  for (const store::EventSourceMappingRecord& r : *records) {
    Result<EventSourceMapping> m = decodeMappingDocument(r.document);
    if (!m)
      return makeError(ErrorCode::kIo, "event source mapping " + r.uuid + ": " + m.error().message);
    m->uuid = r.uuid;
    m->account_id = r.account_id;
    mappings_[r.uuid] = std::make_shared<const EventSourceMapping>(std::move(*m));
  }
  return {};
}

void EventSourceMappingService::setChangeListener(Listener listener) {
  listener_ = std::move(listener);
}

Result<void> EventSourceMappingService::checkFunction(const std::string& account_id,
                                                      const FunctionRef& function) const {
  Result<FunctionPtr> f = functions_.resolve(account_id, function);
  if (!f) return f.error();
  return {};
}

Result<void> EventSourceMappingService::apply(const EventSourceMappingSettings& s,
                                              EventSourceMapping& m) const {
  if (s.batch_size) {
    Result<int64_t> v = inRange("batchSize", *s.batch_size, 1, kMaxStreamBatchSize);
    if (!v) return v.error();
    m.batch_size = static_cast<uint32_t>(*v);
  }
  if (s.batching_window_s) {
    Result<int64_t> v = inRange("maximumBatchingWindowInSeconds", *s.batching_window_s, 0,
                                kMaxBatchingWindowSeconds);
    if (!v) return v.error();
    m.batching_window_s = static_cast<uint32_t>(*v);
  }
  if (s.enabled) m.enabled = *s.enabled;
  if (s.max_retry_attempts) {
    Result<int64_t> v =
        inRange("maximumRetryAttempts", *s.max_retry_attempts, -1, kMaxStreamRetryAttempts);
    if (!v) return v.error();
    m.max_retry_attempts = static_cast<int32_t>(*v);
  }
  if (s.max_record_age_s) {
    Result<int64_t> v =
        inRange("maximumRecordAgeInSeconds", *s.max_record_age_s, -1, kMaxRecordAgeSeconds);
    if (!v) return v.error();
    if (*v != -1 && *v < kMinRecordAgeSeconds) {
      return makeError(ErrorCode::kInvalidParameter,
                       "MaximumRecordAgeInSeconds must be -1 (no limit) or between " +
                           std::to_string(kMinRecordAgeSeconds) + " and " +
                           std::to_string(kMaxRecordAgeSeconds) + ".");
    }
    m.max_record_age_s = static_cast<int32_t>(*v);
  }
  if (s.bisect_on_error) m.bisect_on_error = *s.bisect_on_error;
  if (s.parallelization_factor) {
    Result<int64_t> v =
        inRange("parallelizationFactor", *s.parallelization_factor, 1, kMaxParallelizationFactor);
    if (!v) return v.error();
    m.parallelization_factor = static_cast<uint32_t>(*v);
  }
  if (s.on_failure) {
    if (!s.on_failure->empty()) {
      Result<queue::Destination> d = parseDestinationArn(*s.on_failure, region_, m.account_id,
                                                         DestinationUse::kEventInvokeConfig);
      if (!d) return d.error();
    }
    m.on_failure = *s.on_failure;
  }
  return {};
}

Result<MappingPtr> EventSourceMappingService::create(const std::string& account_id,
                                                     const FunctionRef& function,
                                                     const EventSourceMappingSettings& s) {
  HEARTH_TRY(checkFunction(account_id, function));
  EventSourceMapping m;
  m.uuid = newUuid();
  m.account_id = account_id;
  m.function_name = function.name;
  m.qualifier = function.qualifier;
  if (!s.event_source_arn || s.event_source_arn->empty()) {
    return makeError(ErrorCode::kInvalidParameter,
                     "EventSourceArn is required: the Redis stream to read "
                     "(arn:aws:redis:<region>:<account>:stream/<host>:<port>/<db>/<key>).");
  }
  Result<std::string> arn = sourceArn(*s.event_source_arn);
  if (!arn) return arn.error();
  m.event_source_arn = std::move(*arn);
  if (!s.starting_position) {
    return makeError(ErrorCode::kInvalidParameter,
                     "StartingPosition is required for a stream event source (TRIM_HORIZON or "
                     "LATEST).");
  }
  if (*s.starting_position == "AT_TIMESTAMP") {
    return makeError(ErrorCode::kUnsupported,
                     "StartingPosition AT_TIMESTAMP is not supported yet: use TRIM_HORIZON or "
                     "LATEST.");
  }
  if (*s.starting_position != "TRIM_HORIZON" && *s.starting_position != "LATEST") {
    return makeError(ErrorCode::kInvalidParameter,
                     "1 validation error detected: Value '" + *s.starting_position +
                         "' at 'startingPosition' failed to satisfy constraint: Member must "
                         "satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]");
  }
  m.starting_position = *s.starting_position;
  HEARTH_TRY(apply(s, m));
  m.last_modified = std::chrono::system_clock::now();

  std::lock_guard write(write_mu_);
  for (const MappingPtr& other : all()) {
    if (other->account_id == account_id && other->function_name == m.function_name &&
        other->event_source_arn == m.event_source_arn) {
      return makeError(ErrorCode::kConflict, "An event source mapping with " + m.event_source_arn +
                                                 " and function " + m.function_name +
                                                 " already exists. Please update or delete the "
                                                 "existing mapping with UUID " +
                                                 other->uuid);
    }
  }
  HEARTH_TRY(store_.putEventSourceMapping({m.uuid, m.account_id, encodeMappingDocument(m)}));
  auto ptr = std::make_shared<const EventSourceMapping>(std::move(m));
  {
    std::lock_guard lock(mu_);
    mappings_[ptr->uuid] = ptr;
  }
  if (listener_) listener_(ptr->uuid, ptr);
  return MappingPtr(ptr);
}

Result<MappingPtr> EventSourceMappingService::get(const std::string& account_id,
                                                  const std::string& uuid) const {
  std::lock_guard lock(mu_);
  auto it = mappings_.find(uuid);
  if (it == mappings_.end() || it->second->account_id != account_id) return notFound();
  return it->second;
}

std::vector<MappingPtr> EventSourceMappingService::list(
    const std::string& account_id, const std::optional<std::string>& function_name,
    const std::optional<std::string>& event_source_arn) const {
  // Mappings keep their source's canonical ARN; a filter spelled otherwise (a%2fb for a%2Fb)
  // names the same stream.
  std::optional<std::string> source;
  if (event_source_arn) {
    Result<std::string> canonical = sourceArn(*event_source_arn);
    source = canonical ? *canonical : *event_source_arn;
  }
  std::vector<MappingPtr> out;
  std::lock_guard lock(mu_);
  for (const auto& [uuid, m] : mappings_) {
    if (m->account_id != account_id) continue;
    if (function_name && m->function_name != *function_name) continue;
    if (source && m->event_source_arn != *source) continue;
    out.push_back(m);
  }
  return out;
}

std::vector<MappingPtr> EventSourceMappingService::all() const {
  std::vector<MappingPtr> out;
  std::lock_guard lock(mu_);
  for (const auto& [uuid, m] : mappings_) out.push_back(m);
  return out;
}

Result<MappingPtr> EventSourceMappingService::update(const std::string& account_id,
                                                     const std::string& uuid,
                                                     const std::optional<FunctionRef>& function,
                                                     const EventSourceMappingSettings& s) {
  if (s.event_source_arn || s.starting_position) {
    return makeError(ErrorCode::kInvalidParameter,
                     "EventSourceArn and StartingPosition cannot be changed: create a new event "
                     "source mapping.");
  }
  std::lock_guard write(write_mu_);
  Result<MappingPtr> current = get(account_id, uuid);
  if (!current) return current.error();
  EventSourceMapping next = **current;
  if (function) {
    HEARTH_TRY(checkFunction(account_id, *function));
    next.function_name = function->name;
    next.qualifier = function->qualifier;
  }
  HEARTH_TRY(apply(s, next));
  next.last_modified = std::chrono::system_clock::now();
  HEARTH_TRY(store_.putEventSourceMapping({uuid, account_id, encodeMappingDocument(next)}));
  auto ptr = std::make_shared<const EventSourceMapping>(std::move(next));
  {
    std::lock_guard lock(mu_);
    mappings_[uuid] = ptr;
  }
  if (listener_) listener_(uuid, ptr);
  return MappingPtr(ptr);
}

Result<MappingPtr> EventSourceMappingService::remove(const std::string& account_id,
                                                     const std::string& uuid) {
  std::lock_guard write(write_mu_);
  Result<MappingPtr> current = get(account_id, uuid);
  if (!current) return current.error();
  HEARTH_TRY(store_.deleteEventSourceMapping(uuid));
  {
    std::lock_guard lock(mu_);
    mappings_.erase(uuid);
  }
  if (listener_) listener_(uuid, nullptr);
  return current;
}

}  // namespace hearth::control
