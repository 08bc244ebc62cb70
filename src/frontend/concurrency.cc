#include "frontend/concurrency.h"

#include "common/check.h"

namespace hearth::frontend {

ConcurrencyLimiter::Slot::Slot(ConcurrencyLimiter* owner, std::string account, std::string function,
                               bool reserved)
    : owner_(owner),
      account_(std::move(account)),
      function_(std::move(function)),
      reserved_(reserved) {}

ConcurrencyLimiter::Slot::Slot(Slot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      account_(std::move(other.account_)),
      function_(std::move(other.function_)),
      reserved_(other.reserved_) {}

ConcurrencyLimiter::Slot& ConcurrencyLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    account_ = std::move(other.account_);
    function_ = std::move(other.function_);
    reserved_ = other.reserved_;
  }
  return *this;
}

ConcurrencyLimiter::Slot::~Slot() { release(); }

void ConcurrencyLimiter::Slot::release() {
  if (!owner_) return;
  auto fn = owner_->per_function_.find({account_, function_});
  CHECK(fn != owner_->per_function_.end() && fn->second > 0);
  if (--fn->second == 0) owner_->per_function_.erase(fn);
  if (!reserved_) {
    auto acct = owner_->unreserved_.find(account_);
    CHECK(acct != owner_->unreserved_.end() && acct->second > 0);
    if (--acct->second == 0) owner_->unreserved_.erase(acct);
  }
  owner_ = nullptr;
}

Result<ConcurrencyLimiter::Slot> ConcurrencyLimiter::acquire(const std::string& account_id,
                                                             const std::string& function_name,
                                                             std::optional<uint32_t> reserved,
                                                             uint32_t reserved_sum) {
  uint32_t& fn = per_function_[{account_id, function_name}];
  if (reserved) {
    if (fn >= *reserved) {
      if (fn == 0) per_function_.erase({account_id, function_name});
      return makeError(ErrorCode::kTooManyRequests, "Rate Exceeded.",
                       "ReservedFunctionConcurrentInvocationLimitExceeded");
    }
  } else {
    uint32_t pool = reserved_sum >= account_limit_ ? 0 : account_limit_ - reserved_sum;
    if (unreserved_[account_id] >= pool) {
      if (fn == 0) per_function_.erase({account_id, function_name});
      return makeError(ErrorCode::kTooManyRequests, "Rate Exceeded.",
                       "ConcurrentInvocationLimitExceeded");
    }
    ++unreserved_[account_id];
  }
  ++fn;
  return Slot(this, account_id, function_name, reserved.has_value());
}

uint32_t ConcurrencyLimiter::running(const std::string& account_id,
                                     const std::string& function_name) const {
  auto it = per_function_.find({account_id, function_name});
  return it == per_function_.end() ? 0 : it->second;
}

}  // namespace hearth::frontend
