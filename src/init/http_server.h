// The Runtime API listener: binds AWS_LAMBDA_RUNTIME_API's address, accepts runtime connections
// (at most kMaxConnections at once; more are closed at accept) and owns the HttpConnections.
//
// The address is numeric IPv4 "a.b.c.d:port": hearth-init is static and does no name lookups.
// Ownership: owns the listening socket and every connection. Thread-safety: none.
#pragma once

#include <netinet/in.h>

#include <memory>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "init/event_loop.h"
#include "init/http_connection.h"
#include "init/runtime_api.h"

namespace hearth::init {

inline constexpr std::string_view kDefaultRuntimeApiAddress = "127.0.0.1:9001";

// Parses "a.b.c.d:port" (port 1..65535). kInvalidParameter otherwise.
Result<sockaddr_in> parseListenAddress(std::string_view host_port);

class HttpServer final : public EventHandler {
 public:
  static constexpr size_t kMaxConnections = 16;

  // Binds and listens (SO_REUSEADDR, non-blocking, close-on-exec) and registers with the loop.
  // REQUIRES: loop and api outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(const sockaddr_in& address, EventLoop& loop,
                                                   RuntimeApi& api);

  void onEvent(uint32_t events) override;
  // Destroys connections that closed during the last loop round. Call between rounds.
  void sweep();

 private:
  HttpServer(UniqueFd fd, EventLoop& loop, RuntimeApi& api)
      : fd_(std::move(fd)), loop_(loop), api_(api) {}

  UniqueFd fd_;
  EventLoop& loop_;
  RuntimeApi& api_;
  std::vector<std::unique_ptr<HttpConnection>> connections_;
};

}  // namespace hearth::init
