#include "worker/testing/fake_worker.h"

namespace hearth::worker::testing {
namespace {

class FakeEnvironment : public Environment {
 public:
  FakeEnvironment(std::shared_ptr<FakeWorker::Record> record, bool crash)
      : record_(std::move(record)), crash_(crash), stream_("fake/" + std::to_string(id_++)) {}
  ~FakeEnvironment() override { record_->destroyed = true; }

  const EnvironmentSpec& spec() const override { return record_->spec; }
  const std::string& logStream() const override { return stream_; }
  bool reusable() const override { return !crashed_; }

  boost::asio::awaitable<Result<InvokeResult>> invoke(InvokeRequest request) override {
    ++record_->invokes;
    InvokeResult r;
    if (crash_) {
      crashed_ = true;
      r.function_error = true;
      r.error_type = "Runtime.ExitError";
    }
    r.payload = std::move(request.payload);
    co_return r;
  }

 private:
  static inline int id_ = 0;
  std::shared_ptr<FakeWorker::Record> record_;
  bool crash_;
  bool crashed_ = false;
  std::string stream_;
};

}  // namespace

boost::asio::awaitable<Result<std::unique_ptr<Environment>>> FakeWorker::createEnvironment(
    const EnvironmentSpec& spec) {
  if (next_error_) {
    Error e = std::move(*next_error_);
    next_error_.reset();
    co_return e;
  }
  auto record = std::make_shared<Record>();
  record->spec = spec;
  created_.push_back(record);
  co_return std::make_unique<FakeEnvironment>(record, crash_);
}

}  // namespace hearth::worker::testing
