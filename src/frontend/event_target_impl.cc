#include "frontend/event_target_impl.h"

#include "common/log.h"
#include "control/destination.h"

namespace hearth::frontend {
namespace {

static_assert(eventsources::kMaxBatchPayloadBytes == kMaxSyncPayloadBytes,
              "a stream batch must fit one synchronous invoke");

// A destination stored with the function, parsed again for delivery. It was validated when it
// was configured; one that no longer parses (the deployment's region changed) is skipped, and
// the event's failure then falls back to the account's default dead-letter queue.
std::optional<queue::Destination> destination(const std::string& arn, std::string_view region,
                                              const std::string& account_id,
                                              control::DestinationUse use) {
  if (arn.empty()) return std::nullopt;
  Result<queue::Destination> d = control::parseDestinationArn(arn, region, account_id, use);
  if (!d) {
    LOG_WARN("destination {} of account {} skipped: {}", arn, account_id, d.error().toString());
    return std::nullopt;
  }
  return std::move(*d);
}

}  // namespace

EventTargetImpl::EventTargetImpl(control::FunctionService& functions, Invoker& invoker,
                                 std::string region)
    : functions_(functions), invoker_(invoker), region_(std::move(region)) {}

std::optional<queue::EventPolicy> EventTargetImpl::policy(const queue::FunctionTarget& target) {
  Result<control::FunctionPtr> fn = invoker_.resolve(
      target.account_id, control::FunctionRef{target.function_name, target.qualifier});
  if (!fn) return std::nullopt;
  const control::Function& f = **fn;
  queue::EventPolicy p;
  if (const std::optional<control::EventInvokeConfig>& c = f.event_invoke_config) {
    p.max_retries = c->max_retries.value_or(queue::kDefaultRetryAttempts);
    if (c->max_age_s) p.max_age = std::chrono::seconds(*c->max_age_s);
    p.on_success = destination(c->on_success, region_, f.account_id,
                               control::DestinationUse::kEventInvokeConfig);
    p.on_failure = destination(c->on_failure, region_, f.account_id,
                               control::DestinationUse::kEventInvokeConfig);
  }
  p.dead_letter = destination(f.dead_letter_arn, region_, f.account_id,
                              control::DestinationUse::kDeadLetterConfig);
  return p;
}

std::string EventTargetImpl::functionArn(const queue::FunctionTarget& target) {
  // Lambda's records name the version that ran: unqualified invokes run $LATEST.
  return control::functionArn(region_, target.account_id, target.function_name,
                              target.qualifier.empty() ? "$LATEST" : target.qualifier);
}

boost::asio::awaitable<Result<queue::AttemptResult>> EventTargetImpl::invoke(
    const queue::Event& event) {
  InvokeOptions options;
  options.request_id = event.request_id;
  // Named, not a temporary in the co_await expression (GCC 12 destroys those twice).
  const control::FunctionRef ref{event.target.function_name, event.target.qualifier};
  Result<InvokeResponse> r =
      co_await invoker_.invoke(event.target.account_id, ref, event.payload, options);
  if (!r) co_return r.error();
  co_return queue::AttemptResult{r->function_error, std::move(r->payload),
                                 std::move(r->executed_version)};
}

Result<eventsources::StreamMapping> streamMappingOf(const control::EventSourceMapping& m,
                                                    const std::string& region) {
  eventsources::StreamMapping s;
  Result<eventsources::redis::StreamArn> stream =
      eventsources::redis::parseStreamArn(m.event_source_arn);
  if (!stream) return stream.error();
  s.uuid = m.uuid;
  s.event_source_arn = m.event_source_arn;
  s.stream = std::move(*stream);
  s.function = queue::FunctionTarget{m.account_id, m.function_name, m.qualifier};
  s.function_arn = control::functionArn(region, m.account_id, m.function_name, m.qualifier);
  s.region = region;
  s.batch_size = m.batch_size;
  s.batching_window = std::chrono::seconds(m.batching_window_s);
  s.start_at_latest = m.starting_position == "LATEST";
  s.max_retry_attempts = m.max_retry_attempts;
  s.max_record_age_s = m.max_record_age_s;
  s.bisect_on_error = m.bisect_on_error;
  s.parallelization_factor = m.parallelization_factor;
  s.on_failure =
      destination(m.on_failure, region, m.account_id, control::DestinationUse::kEventInvokeConfig);
  return s;
}

}  // namespace hearth::frontend
