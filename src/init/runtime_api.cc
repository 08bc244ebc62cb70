// Runtime API routes and state transitions; see runtime_api.h. Paths, statuses and error bodies
// follow Lambda and the Runtime Interface Emulator (rapi/handler/*, fatalerror/fatalerror.go).
#include "init/runtime_api.h"

#include <charconv>
#include <utility>

namespace hearth::init {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view kPrefix = "/2018-06-01/runtime/";

// Response bodies the runtime sees, one place for all of them.
constexpr std::string_view kAccepted = R"({"status":"OK"})";
constexpr std::string_view kInvalidRequestId =
    R"({"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"})";
constexpr std::string_view kInvalidStateTransition =
    R"({"errorMessage":"Invalid state transition","errorType":"InvalidStateTransition"})";
constexpr std::string_view kRequestTooLarge =
    R"({"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"})";
constexpr std::string_view kNotFound =
    R"({"errorMessage":"Unknown Runtime API path","errorType":"NotFound"})";
constexpr std::string_view kMethodNotAllowed =
    R"({"errorMessage":"Method not allowed for this path","errorType":"MethodNotAllowed"})";

// What the worker (and so the caller) gets when the runtime's result is too large.
constexpr std::string_view kResponseSizeTooLargeType = "Function.ResponseSizeTooLarge";
constexpr std::string_view kResponseSizeTooLargePayload =
    R"({"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"})";
constexpr std::string_view kInitErrorTooLargePayload =
    R"({"errorMessage":"Init error payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Runtime.Unknown"})";

enum class Route { kNext, kResponse, kError, kInitError, kUnknown };

struct Match {
  Route route = Route::kUnknown;
  std::string_view request_id;
};

Match matchRoute(std::string_view target) {
  if (const size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (!target.starts_with(kPrefix)) return {};
  std::string_view rest = target.substr(kPrefix.size());
  if (rest == "invocation/next") return {Route::kNext, {}};
  if (rest == "init/error") return {Route::kInitError, {}};
  constexpr std::string_view kInvocation = "invocation/";
  if (!rest.starts_with(kInvocation)) return {};
  rest.remove_prefix(kInvocation.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  const std::string_view id = rest.substr(0, slash);
  const std::string_view action = rest.substr(slash + 1);
  if (action == "response") return {Route::kResponse, id};
  if (action == "error") return {Route::kError, id};
  return {};
}

}  // namespace

void RuntimeApi::onRequest(Exchange& ex) {
  const RuntimeRequest& req = ex.request();
  const Match m = matchRoute(req.target);
  const http::verb want = m.route == Route::kNext ? http::verb::get : http::verb::post;
  if (m.route == Route::kUnknown) {
    ex.respond(404, {}, kNotFound);
    return;
  }
  if (req.method != want) {
    ex.respond(405, {}, kMethodNotAllowed);
    return;
  }
  switch (m.route) {
    case Route::kNext: handleNext(ex); return;
    case Route::kResponse: handleResult(ex, m.request_id, /*is_error=*/false); return;
    case Route::kError: handleResult(ex, m.request_id, /*is_error=*/true); return;
    case Route::kInitError: handleInitError(ex); return;
    case Route::kUnknown: return;
  }
}

void RuntimeApi::handleNext(Exchange& ex) {
  switch (state_) {
    case State::kInitializing:
      // The runtime finished its init phase: the environment is ready for events.
      state_ = State::kIdle;
      delegate_.sendFrame(channel::Ready{});
      break;
    case State::kIdle:
      break;
    case State::kInvoking:
    case State::kInitFailed:
      ex.respond(403, {}, kInvalidStateTransition);
      return;
  }
  if (waiter_ != nullptr) {
    // A second /next while one is parked: only one runtime loop may wait.
    ex.respond(403, {}, kInvalidStateTransition);
    return;
  }
  waiter_ = &ex;
  dispatch();
}

void RuntimeApi::onInvoke(channel::Invoke invoke) {
  if (held_ || state_ == State::kInvoking) {
    delegate_.protocolViolation("Invoke received while another invocation is in flight");
    return;
  }
  // In kInitFailed the runtime will never ask; hold it anyway: the worker already has the
  // InitError and tears the environment down.
  held_ = std::move(invoke);
  dispatch();
}

void RuntimeApi::dispatch() {
  if (state_ != State::kIdle || waiter_ == nullptr || !held_) return;
  channel::Invoke ev = std::move(*held_);
  held_.reset();
  Exchange& ex = *std::exchange(waiter_, nullptr);
  current_id_ = ev.request_id;
  state_ = State::kInvoking;

  char deadline[24];
  const auto [end, ec] = std::to_chars(deadline, deadline + sizeof(deadline), ev.deadline_ms);
  (void)ec;  // a uint64 always fits in 24 characters
  const std::string_view deadline_text(deadline, static_cast<size_t>(end - deadline));
  const HeaderField id{"Lambda-Runtime-Aws-Request-Id", ev.request_id};
  const HeaderField dl{"Lambda-Runtime-Deadline-Ms", deadline_text};
  const HeaderField arn{"Lambda-Runtime-Invoked-Function-Arn", ev.invoked_function_arn};
  const HeaderField trace{"Lambda-Runtime-Trace-Id", ev.trace_id};
  const HeaderField cc{"Lambda-Runtime-Client-Context", ev.client_context};
  const HeaderField ci{"Lambda-Runtime-Cognito-Identity", ev.cognito_identity};
  const bool has_cc = !ev.client_context.empty();
  const bool has_ci = !ev.cognito_identity.empty();
  if (has_cc && has_ci) {
    ex.respond(200, {id, dl, arn, trace, cc, ci}, ev.payload);
  } else if (has_cc) {
    ex.respond(200, {id, dl, arn, trace, cc}, ev.payload);
  } else if (has_ci) {
    ex.respond(200, {id, dl, arn, trace, ci}, ev.payload);
  } else {
    ex.respond(200, {id, dl, arn, trace}, ev.payload);
  }
}

void RuntimeApi::handleResult(Exchange& ex, std::string_view request_id, bool is_error) {
  if (current_id_.empty() || request_id != current_id_) {
    ex.respond(400, {}, kInvalidRequestId);
    return;
  }
  if (state_ != State::kInvoking) {  // this invocation was already answered
    ex.respond(403, {}, kInvalidStateTransition);
    return;
  }
  state_ = State::kIdle;
  delegate_.drainLogs();
  if (ex.request().body_too_large) {
    ex.respond(413, {}, kRequestTooLarge);
    delegate_.sendFrame(channel::FunctionError{current_id_, std::string(kResponseSizeTooLargeType),
                                               std::string(kResponseSizeTooLargePayload)});
  } else if (is_error) {
    std::string error_type = ex.request().error_type;
    delegate_.sendFrame(
        channel::FunctionError{current_id_, std::move(error_type), ex.takeBody()});
    ex.respond(202, {}, kAccepted);
  } else {
    delegate_.sendFrame(channel::Response{current_id_, ex.takeBody()});
    ex.respond(202, {}, kAccepted);
  }
  dispatch();
}

void RuntimeApi::handleInitError(Exchange& ex) {
  if (state_ != State::kInitializing) {
    ex.respond(403, {}, kInvalidStateTransition);
    return;
  }
  state_ = State::kInitFailed;
  delegate_.drainLogs();
  std::string error_type = ex.request().error_type;
  if (ex.request().body_too_large) {
    ex.respond(413, {}, kRequestTooLarge);
    delegate_.sendFrame(
        channel::InitError{std::move(error_type), std::string(kInitErrorTooLargePayload)});
    return;
  }
  delegate_.sendFrame(channel::InitError{std::move(error_type), ex.takeBody()});
  ex.respond(202, {}, kAccepted);
}

void RuntimeApi::abandon(Exchange& ex) {
  if (waiter_ == &ex) waiter_ = nullptr;
}

}  // namespace hearth::init
