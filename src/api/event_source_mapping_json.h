// The bodies of CreateEventSourceMapping and UpdateEventSourceMapping, read with Lambda's type
// checks (the rules of function_json.h). Fields of other kinds of sources (Kafka, MQ, DocumentDB)
// and features Hearth lacks (FunctionResponseTypes, FilterCriteria, tumbling windows,
// AT_TIMESTAMP) are refused by name with kUnsupported rather than ignored. Range checks are the
// control plane's (control::EventSourceMappingService).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/event_source_mapping.h"

namespace hearth::api {

struct MappingInput {
  std::optional<std::string> function_name;  // as sent: a name or an ARN
  control::EventSourceMappingSettings settings;
};

Result<MappingInput> parseMapping(std::string_view body);

}  // namespace hearth::api
