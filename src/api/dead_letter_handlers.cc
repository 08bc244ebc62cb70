// Hearth's own API for each account's built-in dead-letter store (the `hearth dead-letters`
// commands use it), SigV4-signed like Lambda's:
//   GET  /hearth/2026-12-01/dead-letters/{Queue}?Marker=&MaxItems=   list, oldest first
//   POST /hearth/2026-12-01/dead-letters/{Queue}/redrive  {"Ids":[...]}  back onto the queue
//   POST /hearth/2026-12-01/dead-letters/{Queue}/delete   {"Ids":[...]}  drop
// Without "Ids" (or with an empty list), redrive and delete take every entry of the queue.
// Shapes: docs/async.md.
#include <charconv>
#include <optional>

#include "api/function_json.h"
#include "api/handlers.h"
#include "common/encoding.h"
#include "queue/event_queue.h"

namespace hearth::api {
namespace {

using boost::beast::http::status;
using nlohmann::json;

constexpr size_t kDefaultPage = 50;
constexpr size_t kMaxPage = 1000;

Result<std::string> queueName(const Call& c) {
  std::optional<std::string> name = uriDecode(c.params.get("Queue").value_or(""));
  if (!name || !queue::isValidQueueName(*name)) {
    return makeError(ErrorCode::kInvalidParameter,
                     "A dead-letter queue name is 1 to 80 characters of A-Z, a-z, 0-9, - and _.");
  }
  return std::move(*name);
}

Result<uint64_t> decimal(std::string_view text, std::string_view what) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return makeError(ErrorCode::kInvalidParameter,
                     "Invalid " + std::string(what) + ": " + std::string(text));
  }
  return v;
}

Result<std::vector<uint64_t>> idsOf(std::string_view body) {
  Result<json> obj = parseJsonObject(body);
  if (!obj) return obj.error();
  std::vector<uint64_t> ids;
  const json* list = member(*obj, "Ids");
  if (list == nullptr) return ids;
  if (!list->is_array()) return typeError("ids", "a list of integers");
  for (const json& id : *list) {
    if (!id.is_number_unsigned()) return typeError("ids", "a list of integers");
    ids.push_back(id.get<uint64_t>());
  }
  return ids;
}

json entryJson(const queue::DeadLetter& d) {
  json record = json::parse(d.entry.record, nullptr, /*allow_exceptions=*/false);
  return {
      {"Id", d.id},
      {"Queue", d.entry.queue},
      {"CreatedAt", formatIsoTimestamp(d.created_at)},
      {"RequestId", d.entry.request_id},
      {"FunctionName", d.entry.target.function_name},
      {"Qualifier", d.entry.target.qualifier},
      {"Record", record.is_discarded() ? json(d.entry.record) : record},
  };
}

// Redrive or delete: the named entries of the caller's queue (all when no Ids are given);
// answers {"<counted>": n}.
using EntryChange = boost::asio::awaitable<Result<size_t>> (queue::EventQueue::*)(
    std::string, std::string, std::vector<uint64_t>);

HandlerResult changeEntries(Call& c, EntryChange change, const char* counted) {
  Result<std::string> name = queueName(c);
  if (!name) co_return name.error();
  Result<std::vector<uint64_t>> ids = idsOf(c.req.body());
  if (!ids) co_return ids.error();
  Result<size_t> n = co_await (c.deps.events.*change)(c.caller.account_id, *name, std::move(*ids));
  if (!n) co_return n.error();
  co_return jsonResponse(status::ok, {{counted, *n}});
}

}  // namespace

HandlerResult listDeadLetters(Call& c) {
  Result<std::string> name = queueName(c);
  if (!name) co_return name.error();
  uint64_t after = 0;
  if (std::optional<std::string_view> marker = c.query.get("Marker")) {
    Result<uint64_t> m = decimal(*marker, "Marker");
    if (!m) co_return m.error();
    after = *m;
  }
  size_t max = kDefaultPage;
  if (std::optional<std::string_view> items = c.query.get("MaxItems")) {
    Result<uint64_t> m = decimal(*items, "MaxItems");
    if (!m || *m < 1 || *m > kMaxPage) {
      co_return makeError(ErrorCode::kInvalidParameter,
                          "MaxItems must be between 1 and " + std::to_string(kMaxPage) + ".");
    }
    max = *m;
  }
  Result<queue::DeadLetterPage> page =
      co_await c.deps.events.listDeadLetters(c.caller.account_id, *name, after, max);
  if (!page) co_return page.error();
  json entries = json::array();
  for (const queue::DeadLetter& d : page->entries) entries.push_back(entryJson(d));
  json body = {{"DeadLetters", std::move(entries)}};
  if (page->next_after) body["NextMarker"] = std::to_string(*page->next_after);
  co_return jsonResponse(status::ok, body);
}

HandlerResult redriveDeadLetters(Call& c) {
  return changeEntries(c, &queue::EventQueue::redrive, "Redriven");
}

HandlerResult deleteDeadLetters(Call& c) {
  return changeEntries(c, &queue::EventQueue::deleteDeadLetters, "Deleted");
}

}  // namespace hearth::api
