// Concurrency accounting, as Lambda's frontend does it: each account may run up to its limit of
// invocations at once; a function with reserved concurrency runs up to its reservation and
// never touches the shared pool; other functions share what is not reserved.
//
// Thread-safety: none; used on the data-plane thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/result.h"

namespace hearth::frontend {

class ConcurrencyLimiter {
 public:
  // A taken slot; gives it back on destruction. Move-only.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    ~Slot();

   private:
    friend class ConcurrencyLimiter;
    Slot(ConcurrencyLimiter* owner, std::string account, std::string function, bool reserved);
    void release();

    ConcurrencyLimiter* owner_ = nullptr;
    std::string account_;
    std::string function_;
    bool reserved_ = false;
  };

  explicit ConcurrencyLimiter(uint32_t account_limit) : account_limit_(account_limit) {}

  // Takes a slot for one invocation. `reserved` is the function's reserved concurrency, if set;
  // `reserved_sum` the sum of all reservations in the account. Errors: kTooManyRequests with
  // Reason ReservedFunctionConcurrentInvocationLimitExceeded or ConcurrentInvocationLimitExceeded.
  Result<Slot> acquire(const std::string& account_id, const std::string& function_name,
                       std::optional<uint32_t> reserved, uint32_t reserved_sum);

  uint32_t running(const std::string& account_id, const std::string& function_name) const;

 private:
  uint32_t account_limit_;
  std::map<std::pair<std::string, std::string>, uint32_t> per_function_;
  std::map<std::string, uint32_t> unreserved_;  // per account, functions without reservation
};

}  // namespace hearth::frontend
