// FakeWorker: an in-memory Worker for tests of the layers above the worker (worker manager,
// frontend). Its environments echo the payload back and can be told to fail or to become
// non-reusable, so pool behaviour is observable without sandboxes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "worker/environment.h"

namespace hearth::worker::testing {

class FakeWorker : public Worker {
 public:
  struct Record {
    EnvironmentSpec spec;
    int invokes = 0;
    bool destroyed = false;
  };

  boost::asio::awaitable<Result<std::unique_ptr<Environment>>> createEnvironment(
      const EnvironmentSpec& spec) override;

  // Every environment ever created, in creation order; records outlive their environments.
  const std::vector<std::shared_ptr<Record>>& created() const { return created_; }
  // The next createEnvironment() fails with this error.
  void failNextCreate(Error error) { next_error_ = std::move(error); }
  // Environments created from now on crash (become non-reusable) on their first invoke.
  void crashOnInvoke(bool crash) { crash_ = crash; }

 private:
  std::vector<std::shared_ptr<Record>> created_;
  std::optional<Error> next_error_;
  bool crash_ = false;
};

}  // namespace hearth::worker::testing
