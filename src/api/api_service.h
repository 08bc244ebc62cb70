// The Lambda REST API (shared/refs/lambda-api.md §1–2) as an http::Handler: request ids, routing,
// SigV4 authentication, {FunctionName} resolution, and dispatch to one handler file per operation
// group — function_handlers.cc (create/get/list/update/delete), invoke_handler.cc,
// event_invoke_config_handlers.cc, event_source_mapping_handlers.cc, concurrency_handlers.cc,
// account_handlers.cc,
// dead_letter_handlers.cc (Hearth's dead-letter store), code_download.cc.
//
// Every reply carries `x-amzn-RequestId` (a fresh UUID per request; an invoke's request id is the
// same value) and, when it has a body, `Content-Type: application/json` (the code download:
// application/zip). Failures become Lambda's error replies through error_mapping.h only.
// Requests are authenticated with SigV4 against the account registry; the caller's account
// scopes everything the request can see. The one unauthenticated route is the code download
// behind GetFunction's Code.Location, `GET /hearth/code/{CodeId}?Expires=&Signature=`, which is
// presigned with an HMAC over (code id, expiry) under Deps::download_secret and valid for
// kCodeUrlLifetime.
//
// Threading: handle() runs on the single data-plane thread that runs the http::Server. Control-
// plane writes and code reads are offloaded to Deps::blocking, so the data plane never blocks on
// disk; in-memory reads (get, list, usage) and invokes run inline.
//
// Ownership: ApiService borrows everything in Deps; all of it must outlive the service.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "codestore/code_store.h"
#include "control/account_registry.h"
#include "control/event_source_mapping.h"
#include "control/function_service.h"
#include "eventsources/mapping_runner.h"
#include "frontend/invoker.h"
#include "http/message.h"
#include "http/router.h"
#include "queue/event_queue.h"

namespace hearth::api {

// Largest request body Lambda accepts (a CreateFunction/UpdateFunctionCode carrying a 50 MB zip
// in base64). Give it to http::ServerOptions::body_limit, with tooLarge() as its reply.
inline constexpr uint64_t kMaxRequestBodyBytes = 69905067;

// How long a presigned code download URL from GetFunction stays valid.
inline constexpr std::chrono::seconds kCodeUrlLifetime{600};

class ApiService {
 public:
  struct Deps {
    control::AccountRegistry& accounts;
    control::FunctionService& functions;
    frontend::Invoker& invoker;
    codestore::CodeStore& code;
    // The event queue: the built-in dead-letter store's operations.
    queue::EventQueue& events;
    control::EventSourceMappingService& mappings;
    // The mappings' pollers, for LastProcessingResult.
    const eventsources::MappingRunner& streams;
    // Thread pool for blocking control-plane work (FunctionService writes, code reads).
    boost::asio::any_io_executor blocking;
    // The region this deployment answers for: ARNs name it, and requests signed for another
    // region are refused, as AWS refuses them.
    std::string region;
    // HMAC key for presigned code download URLs. REQUIRES: non-empty, secret, random.
    std::string download_secret;
  };

  // The operations routed. Public so that tests and logs can name them.
  enum class Operation {
    kCreateFunction,
    kListFunctions,
    kGetFunction,
    kDeleteFunction,
    kGetFunctionConfiguration,
    kUpdateFunctionConfiguration,
    kUpdateFunctionCode,
    kInvoke,
    kInvokeAsync,
    kPutFunctionConcurrency,
    kGetFunctionConcurrency,
    kDeleteFunctionConcurrency,
    kGetAccountSettings,
    kPutFunctionEventInvokeConfig,
    kUpdateFunctionEventInvokeConfig,
    kGetFunctionEventInvokeConfig,
    kDeleteFunctionEventInvokeConfig,
    kListFunctionEventInvokeConfigs,
    kCreateEventSourceMapping,
    kGetEventSourceMapping,
    kListEventSourceMappings,
    kUpdateEventSourceMapping,
    kDeleteEventSourceMapping,
    kListDeadLetters,
    kRedriveDeadLetters,
    kDeleteDeadLetters,
    kDownloadCode,
  };

  explicit ApiService(Deps deps);

  // The http::Handler. Never throws; every failure is a Lambda error reply.
  boost::asio::awaitable<http::Response> handle(http::Request& req);

  // The reply for a body over http::ServerOptions::body_limit: 413 RequestTooLargeException for
  // an invoke, RequestEntityTooLargeException otherwise.
  http::Response tooLarge(const http::Request& req) const;

 private:
  struct Route {
    Operation op;
    std::string_view name;  // Lambda's operation name, for messages and logs
    bool has_function;      // the path has {FunctionName}
    bool takes_qualifier;   // ?Qualifier= and "name:qualifier" are meaningful
  };

  boost::asio::awaitable<http::Response> dispatch(http::Request& req,
                                                  const std::string& request_id);

  Deps deps_;
  http::Router<Route> router_;
};

}  // namespace hearth::api
