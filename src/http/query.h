// Request targets: splitting "path?query" and parsing the query string the way AWS does.
//
// The query is split on '&' into pairs and each pair at its first '='; names and values are
// percent-decoded. '+' stays a literal plus (AWS clients encode a space as %20, never '+').
// A pair without '=' has an empty value; empty pairs ("a=1&&b=2") are skipped. Repeated names are
// all kept, in order. Values are plain strings owned by QueryParams; no thread-safety concerns
// beyond those of a const std::vector.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace hearth::http {

struct TargetParts {
  std::string_view path;   // up to, not including, the first '?'
  std::string_view query;  // after the first '?'; empty if there is none
};

// Views into `target`, which must outlive the result.
TargetParts splitTarget(std::string_view target);

// The raw (still percent-encoded) name=value pairs of a query string, in order; empty pairs
// ("a&&b") are skipped and a pair without '=' has an empty value.
std::vector<std::pair<std::string_view, std::string_view>> splitQuery(std::string_view query);

class QueryParams {
 public:
  using Entry = std::pair<std::string, std::string>;

  // The first value given for `name`, decoded.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every (name, value) pair in the order received, decoded.
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  friend Result<QueryParams> parseQuery(std::string_view query);
  std::vector<Entry> entries_;
};

// Parses a raw query string (without the '?'). Fails with kInvalidParameter on a malformed
// percent escape.
Result<QueryParams> parseQuery(std::string_view query);

}  // namespace hearth::http
