#include "http/router.h"

#include <algorithm>

#include "common/check.h"

namespace hearth::http {

std::optional<std::string_view> PathParams::get(std::string_view name) const {
  for (size_t i = 0; i < size_; ++i) {
    if (params_[i].first == name) return params_[i].second;
  }
  return std::nullopt;
}

void PathParams::push(std::string_view name, std::string_view value) {
  CHECK(size_ < kMaxParams);
  params_[size_++] = {name, value};
}

std::optional<PathSegments> PathSegments::split(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path.empty() || path.front() != '/') return std::nullopt;
  // Tolerate exactly one trailing slash: "/a/" is "/a", but "/a//" and "//" keep an empty segment.
  if (path.size() > 1 && path.back() == '/' && path[path.size() - 2] != '/') path.remove_suffix(1);
  path.remove_prefix(1);  // "/" itself has no segments

  PathSegments out;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    if (segment.empty() || out.size_ == kMaxSegments) return std::nullopt;
    out.segments_[out.size_++] = segment;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

Result<PathTemplate> PathTemplate::parse(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return makeError(ErrorCode::kInvalidParameter,
                     "bad path template \"" + std::string(text) + "\": " + std::string(why));
  };
  if (text.empty() || text.front() != '/') return invalid("must start with '/'");
  if (text.size() > 1 && text.back() == '/') return invalid("must not end with '/'");

  PathTemplate out;
  out.text_ = std::string(text);
  std::string_view rest = text.substr(1);
  size_t params = 0;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty()) return invalid("empty segment");
    bool opens = segment.front() == '{';
    bool closes = segment.back() == '}';
    if (opens != closes) return invalid("unbalanced braces");
    if (opens) {
      std::string_view name = segment.substr(1, segment.size() - 2);
      if (name.empty() || name.find_first_of("{}") != std::string_view::npos) {
        return invalid("bad parameter name");
      }
      bool repeated = std::any_of(out.segments_.begin(), out.segments_.end(),
                                  [&](const Segment& s) { return s.is_param && s.text == name; });
      if (repeated) return invalid("repeated parameter");
      if (++params > PathParams::kMaxParams) return invalid("too many parameters");
      out.segments_.push_back(Segment{std::string(name), true});
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos) {
        return invalid("braces inside a literal segment");
      }
      out.segments_.push_back(Segment{std::string(segment), false});
    }
    if (out.segments_.size() > PathSegments::kMaxSegments) return invalid("too many segments");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return out;
}

bool PathTemplate::match(const PathSegments& path, PathParams& params) const {
  if (path.size() != segments_.size()) return false;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (!segments_[i].is_param && segments_[i].text != path[i]) return false;
  }
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i].is_param) params.push(segments_[i].text, path[i]);
  }
  return true;
}

}  // namespace hearth::http
