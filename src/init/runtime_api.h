// The Runtime API (shared/refs/lambda-api.md §4): routes and the invoke state machine of one
// execution environment, independent of sockets. HttpConnection hands it complete requests as
// Exchanges; the Supervisor hands it Invoke frames from the worker. It answers the runtime
// through the Exchange and tells the worker through the Delegate.
//
// States (as the RIE's core/states.go):
//   kInitializing --GET /next (sends Ready)--> kIdle --event handed out--> kInvoking
//   kInvoking --POST /response | /error | oversized /response--> kIdle
//   kInitializing --POST /init/error--> kInitFailed (terminal; the worker tears the sandbox down)
// An Invoke that arrives before the runtime asks for it is held; a GET /next that arrives before
// an Invoke is parked. Invariant: held_ is set only in kInitializing or kIdle; waiter_ only in
// kIdle; never both at once outside dispatch().
//
// Thread-safety: none; driven from the one event-loop thread.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "channel/frame.h"
#include "init/request_parser.h"

namespace hearth::init {

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// One request awaiting its answer. Implemented by the HTTP connection.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const RuntimeRequest& request() const = 0;
  // Moves the request body out (the connection refills it for the next request).
  virtual std::string takeBody() = 0;
  // Sends the response; `headers` need not include Content-Type/Length. Call exactly once.
  virtual void respond(unsigned status, std::initializer_list<HeaderField> headers,
                       std::string_view body) = 0;
};

class RuntimeApi {
 public:
  // What the Runtime API needs from the rest of hearth-init.
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // Forwards everything the runtime wrote so far to the worker as Log frames. Called before
    // every Response, Error and InitError frame, so logs are attributed to the right invoke.
    virtual void drainLogs() = 0;
    virtual void sendFrame(channel::Frame frame) = 0;
    // The worker broke the channel contract (e.g. a second Invoke in flight).
    virtual void protocolViolation(std::string_view what) = 0;
  };

  enum class State { kInitializing, kIdle, kInvoking, kInitFailed };

  // REQUIRES: delegate outlives this object.
  explicit RuntimeApi(Delegate& delegate) : delegate_(delegate) {}

  // Handles one complete request. The exchange is answered now, or (GET /next with no event yet)
  // parked until onInvoke() or abandon().
  void onRequest(Exchange& exchange);
  // An Invoke frame from the worker.
  void onInvoke(channel::Invoke invoke);
  // The exchange's connection is closing; forget it if parked.
  void abandon(Exchange& exchange);

  State state() const { return state_; }

 private:
  void handleNext(Exchange& ex);
  void handleResult(Exchange& ex, std::string_view request_id, bool is_error);
  void handleInitError(Exchange& ex);
  // Hands the held event to the parked /next when both are present.
  void dispatch();

  Delegate& delegate_;
  State state_ = State::kInitializing;
  std::optional<channel::Invoke> held_;  // event not yet handed to the runtime
  Exchange* waiter_ = nullptr;           // a parked GET /next
  std::string current_id_;               // request id of the event handed out last
};

}  // namespace hearth::init
