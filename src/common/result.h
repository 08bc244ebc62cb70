// Result<T>: a value or an Error, shaped like std::expected (C++23), for every fallible call that
// crosses a module boundary. Exceptions never do.
//
//   Result<Config> r = parseConfig(text);
//   if (!r) return r.error();          // propagate
//   use(*r);
//
// Result<void> carries only success or an Error. Both are [[nodiscard]].
#pragma once

#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/check.h"
#include "common/error.h"

namespace hearth {

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  // An error value; exists because Asio's co_spawn default-constructs the result it delivers.
  Result() : v_(std::in_place_index<1>, Error{ErrorCode::kInternal, "empty Result", {}}) {}
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & {
    CHECK(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    CHECK(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    CHECK(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  const Error& error() const& {
    CHECK(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    CHECK(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: !ok().
  const Error& error() const& {
    CHECK(!ok());
    return *error_;
  }
  Error&& error() && {
    CHECK(!ok());
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

// Evaluates `expr` (a Result<T>); on error returns that error from the enclosing function,
// otherwise yields nothing. For Result<T> values use the two-line form with an explicit variable.
#define HEARTH_TRY(expr)                                                   \
  do {                                                                     \
    auto hearth_try_result_ = (expr);                                      \
    if (!hearth_try_result_) return std::move(hearth_try_result_).error(); \
  } while (0)

}  // namespace hearth
