#include "queue/invocation_record.h"

#include <nlohmann/json.hpp>

#include "queue/policy.h"

namespace hearth::queue {
namespace {

using nlohmann::json;

// A payload as a record carries it: the JSON value when it parses as JSON, else the bytes as a
// string (invalid UTF-8 replaced when the record is rendered).
json payloadValue(std::string_view payload) {
  json parsed = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed;
  return json(std::string(payload));
}

std::string render(const json& record) {
  return record.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string invocationRecord(const InvocationOutcome& o) {
  json record = {
      {"version", "1.0"},
      {"timestamp", formatIsoTimestamp(o.timestamp)},
      {"requestContext",
       {{"requestId", o.request_id},
        {"functionArn", o.function_arn},
        {"condition", o.condition},
        {"approximateInvokeCount", o.invoke_count}}},
      {"requestPayload", payloadValue(o.request_payload)},
  };
  if (o.response) {
    json context = {{"statusCode", 200}, {"executedVersion", o.response->executed_version}};
    if (o.response->function_error) context["functionError"] = "Unhandled";
    record["responseContext"] = std::move(context);
    record["responsePayload"] = payloadValue(o.response->payload);
  }
  std::string text = render(record);
  if (text.size() <= kMaxAsyncPayloadBytes) return text;
  record["requestPayload"] = nullptr;
  if (o.response) record["responsePayload"] = nullptr;
  record["payloadsOmitted"] = true;
  return render(record);
}

}  // namespace hearth::queue
