#include "http/query.h"

#include "common/encoding.h"

namespace hearth::http {

TargetParts splitTarget(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::optional<std::string_view> QueryParams::get(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.first == name) return std::string_view(e.second);
  }
  return std::nullopt;
}

std::vector<std::pair<std::string_view, std::string_view>> splitQuery(std::string_view query) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    pairs.emplace_back(pair.substr(0, eq),
                       eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
  return pairs;
}

Result<QueryParams> parseQuery(std::string_view query) {
  QueryParams out;
  for (auto [raw_name, raw_value] : splitQuery(query)) {
    std::optional<std::string> name = uriDecode(raw_name);
    std::optional<std::string> value = uriDecode(raw_value);
    if (!name || !value) {
      return makeError(
          ErrorCode::kInvalidParameter,
          "malformed percent-encoding in query parameter \"" + std::string(raw_name) + "\"");
    }
    out.entries_.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace hearth::http
