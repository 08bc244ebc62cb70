// CreateEventSourceMapping, GetEventSourceMapping, ListEventSourceMappings,
// UpdateEventSourceMapping, DeleteEventSourceMapping for Redis stream sources
// (docs/formats/redis-stream-source.md). Validation is the control plane's; the pollers run in
// eventsources::MappingRunner, which also reports each mapping's LastProcessingResult.
#include <optional>

#include "api/event_source_mapping_json.h"
#include "api/function_json.h"
#include "api/handlers.h"
#include "common/offload.h"

namespace hearth::api {
namespace {

using boost::beast::http::status;
using nlohmann::json;

constexpr int64_t kDefaultMappingPage = 100;

Result<control::FunctionRef> functionOf(const Call& c, const std::string& name) {
  return control::parseFunctionRef(name, {}, c.caller.account_id, c.deps.region);
}

// EventSourceMappingConfiguration; `state` overrides the steady Enabled/Disabled.
json mappingJson(const control::EventSourceMapping& m, const Call& c, std::string_view state = {}) {
  json on_failure = json::object();
  if (!m.on_failure.empty()) on_failure["Destination"] = m.on_failure;
  return {
      {"UUID", m.uuid},
      {"StartingPosition", m.starting_position},
      {"BatchSize", m.batch_size},
      {"MaximumBatchingWindowInSeconds", m.batching_window_s},
      {"ParallelizationFactor", m.parallelization_factor},
      {"EventSourceArn", m.event_source_arn},
      {"FunctionArn",
       control::functionArn(c.deps.region, m.account_id, m.function_name, m.qualifier)},
      {"LastModified", static_cast<double>(toEpochMillis(m.last_modified)) / 1000.0},
      {"LastProcessingResult", c.deps.streams.lastProcessingResult(m.uuid)},
      {"State", state.empty() ? (m.enabled ? "Enabled" : "Disabled") : state},
      {"StateTransitionReason", "USER_INITIATED"},
      {"DestinationConfig", {{"OnFailure", std::move(on_failure)}}},
      {"MaximumRecordAgeInSeconds", m.max_record_age_s},
      {"BisectBatchOnFunctionError", m.bisect_on_error},
      {"MaximumRetryAttempts", m.max_retry_attempts},
      {"FunctionResponseTypes", json::array()},
  };
}

std::string uuidOf(const Call& c) { return std::string(c.params.get("UUID").value_or("")); }

}  // namespace

HandlerResult createEventSourceMapping(Call& c) {
  Result<MappingInput> in = parseMapping(c.req.body());
  if (!in) co_return in.error();
  if (!in->function_name) {
    co_return makeError(ErrorCode::kInvalidParameter,
                        "1 validation error detected: Value null at 'functionName' failed to "
                        "satisfy constraint: Member must not be null");
  }
  Result<control::FunctionRef> fn = functionOf(c, *in->function_name);
  if (!fn) co_return fn.error();
  const std::string& account = c.caller.account_id;
  Result<control::MappingPtr> m = co_await offload(
      c.deps.blocking, [&] { return c.deps.mappings.create(account, *fn, in->settings); });
  if (!m) co_return m.error();
  co_return jsonResponse(status::accepted, mappingJson(**m, c, "Creating"));
}

HandlerResult getEventSourceMapping(Call& c) {
  Result<control::MappingPtr> m = c.deps.mappings.get(c.caller.account_id, uuidOf(c));
  if (!m) co_return m.error();
  co_return jsonResponse(status::ok, mappingJson(**m, c));
}

HandlerResult listEventSourceMappings(Call& c) {
  Result<int64_t> max_items = parseMaxItems(c.query.get("MaxItems"), kDefaultMappingPage);
  if (!max_items) co_return max_items.error();
  std::optional<std::string> function_name;
  if (std::optional<std::string_view> name = c.query.get("FunctionName")) {
    Result<control::FunctionRef> fn = functionOf(c, std::string(*name));
    if (!fn) co_return fn.error();
    function_name = fn->name;
  }
  std::optional<std::string> source;
  if (std::optional<std::string_view> arn = c.query.get("EventSourceArn")) {
    source = std::string(*arn);
  }
  const std::string after(c.query.get("Marker").value_or(""));
  json list = json::array();
  std::optional<std::string> next;
  for (const control::MappingPtr& m :
       c.deps.mappings.list(c.caller.account_id, function_name, source)) {
    if (!after.empty() && m->uuid <= after) continue;  // listed by uuid
    if (static_cast<int64_t>(list.size()) == *max_items) {
      next = list.back()["UUID"].get<std::string>();
      break;
    }
    list.push_back(mappingJson(*m, c));
  }
  json body = {{"EventSourceMappings", std::move(list)}};
  if (next) body["NextMarker"] = *next;
  co_return jsonResponse(status::ok, body);
}

HandlerResult updateEventSourceMapping(Call& c) {
  Result<MappingInput> in = parseMapping(c.req.body());
  if (!in) co_return in.error();
  std::optional<control::FunctionRef> fn;
  if (in->function_name) {
    Result<control::FunctionRef> ref = functionOf(c, *in->function_name);
    if (!ref) co_return ref.error();
    fn = std::move(*ref);
  }
  const std::string& account = c.caller.account_id;
  const std::string uuid = uuidOf(c);
  Result<control::MappingPtr> m = co_await offload(
      c.deps.blocking, [&] { return c.deps.mappings.update(account, uuid, fn, in->settings); });
  if (!m) co_return m.error();
  co_return jsonResponse(status::accepted, mappingJson(**m, c, "Updating"));
}

HandlerResult deleteEventSourceMapping(Call& c) {
  const std::string& account = c.caller.account_id;
  const std::string uuid = uuidOf(c);
  Result<control::MappingPtr> m =
      co_await offload(c.deps.blocking, [&] { return c.deps.mappings.remove(account, uuid); });
  if (!m) co_return m.error();
  co_return jsonResponse(status::accepted, mappingJson(**m, c, "Deleting"));
}

}  // namespace hearth::api
