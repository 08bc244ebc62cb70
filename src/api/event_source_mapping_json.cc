#include "api/event_source_mapping_json.h"

#include "api/function_json.h"

namespace hearth::api {
namespace {

using nlohmann::json;

Result<std::optional<bool>> optionalBoolean(const json& obj, std::string_view field,
                                            std::string_view path) {
  const json* v = member(obj, field);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return typeError(path, "a boolean");
  return std::optional<bool>(v->get<bool>());
}

}  // namespace

Result<MappingInput> parseMapping(std::string_view body) {
  Result<json> obj = parseJsonObject(body);
  if (!obj) return obj.error();
  // Fields of other kinds of sources, or features Hearth lacks: refused rather than ignored.
  for (const char* field :
       {"Topics", "Queues", "SourceAccessConfigurations", "SelfManagedEventSource",
        "AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig",
        "StartingPositionTimestamp", "ScalingConfig", "DocumentDBEventSourceConfig"}) {
    if (member(*obj, field) != nullptr) {
      return makeError(ErrorCode::kUnsupported,
                       std::string(field) + " is not supported: Hearth reads Redis streams.");
    }
  }
  for (const char* field : {"FunctionResponseTypes", "FilterCriteria"}) {
    const json* v = member(*obj, field);
    if (v != nullptr && !v->empty()) {
      return makeError(ErrorCode::kUnsupported, std::string(field) + " is not supported yet.");
    }
  }
  if (const json* tumbling = member(*obj, "TumblingWindowInSeconds");
      tumbling != nullptr && !(tumbling->is_number_integer() && tumbling->get<int64_t>() == 0)) {
    return makeError(ErrorCode::kUnsupported, "TumblingWindowInSeconds is not supported yet.");
  }
  MappingInput in;
  control::EventSourceMappingSettings& s = in.settings;
  struct StringField {
    const char* field;
    const char* path;
    std::optional<std::string>* target;
  };
  for (const StringField& f :
       {StringField{"FunctionName", "functionName", &in.function_name},
        StringField{"EventSourceArn", "eventSourceArn", &s.event_source_arn},
        StringField{"StartingPosition", "startingPosition", &s.starting_position}}) {
    Result<std::optional<std::string>> v = optionalString(*obj, f.field, f.path);
    if (!v) return v.error();
    *f.target = std::move(*v);
  }
  struct IntField {
    const char* field;
    const char* path;
    std::optional<int64_t>* target;
  };
  for (const IntField& f :
       {IntField{"BatchSize", "batchSize", &s.batch_size},
        IntField{"MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds",
                 &s.batching_window_s},
        IntField{"MaximumRetryAttempts", "maximumRetryAttempts", &s.max_retry_attempts},
        IntField{"MaximumRecordAgeInSeconds", "maximumRecordAgeInSeconds", &s.max_record_age_s},
        IntField{"ParallelizationFactor", "parallelizationFactor", &s.parallelization_factor}}) {
    Result<std::optional<int64_t>> v = optionalInteger(*obj, f.field, f.path);
    if (!v) return v.error();
    *f.target = *v;
  }
  Result<std::optional<bool>> enabled = optionalBoolean(*obj, "Enabled", "enabled");
  if (!enabled) return enabled.error();
  s.enabled = *enabled;
  Result<std::optional<bool>> bisect =
      optionalBoolean(*obj, "BisectBatchOnFunctionError", "bisectBatchOnFunctionError");
  if (!bisect) return bisect.error();
  s.bisect_on_error = *bisect;
  if (const json* dc = member(*obj, "DestinationConfig")) {
    if (!dc->is_object()) return typeError("destinationConfig", "a structure");
    if (member(*dc, "OnSuccess") != nullptr) {
      return makeError(ErrorCode::kInvalidParameter,
                       "OnSuccess destinations are not supported for stream event sources.");
    }
    if (const json* f = member(*dc, "OnFailure")) {
      if (!f->is_object()) return typeError("destinationConfig.onFailure", "a structure");
      Result<std::optional<std::string>> arn =
          optionalString(*f, "Destination", "destinationConfig.onFailure.destination");
      if (!arn) return arn.error();
      s.on_failure = arn->value_or("");
    }
  }
  return in;
}

}  // namespace hearth::api
