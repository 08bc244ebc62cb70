// The frontend's side of the pollers. queue::EventTarget: a function's asynchronous-invocation
// policy from the control plane, and attempts through the same Invoker that serves synchronous
// invokes (no HTTP hop), so concurrency limits, logs and environments are shared; the stream
// pollers invoke through it too. streamMappingOf: a control-plane event source mapping as its
// poller runs it.
//
// Thread-safety: none; runs on the data-plane executor with the Invoker.
#pragma once

#include <string>

#include "control/event_source_mapping.h"
#include "control/function_service.h"
#include "eventsources/stream_poller.h"
#include "frontend/invoker.h"
#include "queue/poller.h"

namespace hearth::frontend {

class EventTargetImpl final : public queue::EventTarget {
 public:
  EventTargetImpl(control::FunctionService& functions, Invoker& invoker, std::string region);

  std::optional<queue::EventPolicy> policy(const queue::FunctionTarget& function) override;
  std::string functionArn(const queue::FunctionTarget& function) override;
  boost::asio::awaitable<Result<queue::AttemptResult>> invoke(const queue::Event& event) override;

 private:
  control::FunctionService& functions_;
  Invoker& invoker_;
  std::string region_;
};

// REQUIRES: `m` was accepted by EventSourceMappingService (its ARNs parse).
Result<eventsources::StreamMapping> streamMappingOf(const control::EventSourceMapping& m,
                                                    const std::string& region);

}  // namespace hearth::frontend
