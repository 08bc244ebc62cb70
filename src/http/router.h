// Request routing: (method, path template) → a caller-chosen target, with the path parameters.
//
//   Router<Op> router;
//   router.add(verb::post, "/2015-03-31/functions/{FunctionName}/invocations", Op::kInvoke);
//   RouteMatch<Op> m = router.match(req.method(), req.target());
//   if (m.status == RouteStatus::kMatched) run(*m.target, m.params.get("FunctionName"));
//
// Templates are absolute paths of literal segments and whole-segment parameters `{Name}`.
// Matching is segment by segment on the raw request path (the query is ignored): literals compare
// exactly, a parameter takes one non-empty segment. Parameter values are returned still
// percent-encoded — the caller decodes them, because what a decoded '/' means is its business.
// One trailing slash on the request path is tolerated (`GET /2015-03-31/functions/` from older
// AWS clients). Routes are tried in the order added; the first whose path and method match wins.
// When some route's path matches but none with that method, the status is kMethodNotAllowed,
// otherwise kNoRoute.
//
// Lifetime: a RouteMatch points into the router (target, parameter names) and into the request
// target string (parameter values); it is valid while both are alive and unmodified.
// Thread-safety: match() is const and may run concurrently; add() needs exclusive access.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <ostream>  // boost/beast/http/verb.hpp (1.81) uses std::ostream without including it
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "common/result.h"

namespace hearth::http {

enum class RouteStatus { kMatched, kNoRoute, kMethodNotAllowed };

// Path parameters of a matched route, in template order. Holds no allocation.
class PathParams {
 public:
  static constexpr size_t kMaxParams = 4;

  // The percent-encoded value of parameter `name`, if the route has it.
  std::optional<std::string_view> get(std::string_view name) const;
  size_t size() const { return size_; }
  const std::pair<std::string_view, std::string_view>& operator[](size_t i) const {
    return params_[i];
  }

  // REQUIRES: size() < kMaxParams (guaranteed by PathTemplate::parse).
  void push(std::string_view name, std::string_view value);
  void clear() { size_ = 0; }

 private:
  std::array<std::pair<std::string_view, std::string_view>, kMaxParams> params_{};
  size_t size_ = 0;
};

// The segments of a request path, split once per request. Holds no allocation.
class PathSegments {
 public:
  static constexpr size_t kMaxSegments = 16;

  // Splits the path part of `target` (everything before '?'), after dropping one trailing '/'.
  // nullopt when the path does not start with '/', has an empty segment, or has more than
  // kMaxSegments segments — none of which any route matches.
  static std::optional<PathSegments> split(std::string_view target);

  size_t size() const { return size_; }
  std::string_view operator[](size_t i) const { return segments_[i]; }

 private:
  std::array<std::string_view, kMaxSegments> segments_{};
  size_t size_ = 0;
};

// A parsed path template such as "/2015-03-31/functions/{FunctionName}/aliases/{Name}".
class PathTemplate {
 public:
  // Fails with kInvalidParameter on a template that is not absolute, has empty segments, a
  // trailing slash, a malformed or repeated `{...}`, or more than PathParams::kMaxParams params.
  static Result<PathTemplate> parse(std::string_view text);

  // True if `path` matches; `params` then holds the parameters (names point into *this).
  bool match(const PathSegments& path, PathParams& params) const;

  const std::string& text() const { return text_; }

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter name without braces
    bool is_param;
  };
  std::string text_;
  std::vector<Segment> segments_;
};

template <typename T>
struct RouteMatch {
  RouteStatus status = RouteStatus::kNoRoute;
  const T* target = nullptr;  // set when kMatched
  PathParams params;          // set when kMatched
};

template <typename T>
class Router {
 public:
  // Adds a route. Fails with kInvalidParameter if the template is malformed.
  Result<void> add(boost::beast::http::verb method, std::string_view path_template, T target) {
    Result<PathTemplate> parsed = PathTemplate::parse(path_template);
    if (!parsed) return std::move(parsed).error();
    routes_.push_back(Route{method, std::move(*parsed), std::move(target)});
    return {};
  }

  // `target` is the request target as on the wire (path, optionally "?query").
  RouteMatch<T> match(boost::beast::http::verb method, std::string_view target) const {
    RouteMatch<T> result;
    std::optional<PathSegments> segments = PathSegments::split(target);
    if (!segments) return result;
    PathParams params;
    for (const Route& route : routes_) {
      params.clear();
      if (!route.path.match(*segments, params)) continue;
      if (route.method != method) {
        result.status = RouteStatus::kMethodNotAllowed;
        continue;
      }
      result.status = RouteStatus::kMatched;
      result.target = &route.target;
      result.params = params;
      return result;
    }
    return result;
  }

 private:
  struct Route {
    boost::beast::http::verb method;
    PathTemplate path;
    T target;
  };
  std::vector<Route> routes_;
};

}  // namespace hearth::http
