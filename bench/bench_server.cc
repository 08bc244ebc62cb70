// hearth-bench-server: the bare HTTP layer under load, for measuring it apart from the platform.
//
// Serves every request on one thread with a constant 200 reply ("{}"), or, with --sigv4, only
// after verifying the request's SigV4 signature against one key pair (403 otherwise) — so
// hearth-loadgen can measure what the HTTP server and what signature verification each cost.
// SIGINT/SIGTERM stop accepting, drain in-flight requests and exit.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "api/sigv4.h"
#include "http/server.h"

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using hearth::http::Request;
using hearth::http::Response;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  uint16_t port = 9000;
  bool sigv4 = false;
  std::string access_key = env("AWS_ACCESS_KEY_ID");
  std::string secret_key = env("AWS_SECRET_ACCESS_KEY");

  CLI::App app{"hearth-bench-server: constant-reply HTTP server for measuring the HTTP layer"};
  app.add_option("--host", host, "listen address")->capture_default_str();
  app.add_option("--port", port, "listen port (0 = any free one)")->capture_default_str();
  app.add_flag("--sigv4", sigv4, "verify SigV4 on every request");
  app.add_option("--access-key", access_key, "default: $AWS_ACCESS_KEY_ID");
  app.add_option("--secret-key", secret_key, "default: $AWS_SECRET_ACCESS_KEY");
  CLI11_PARSE(app, argc, argv);
  if (sigv4 && (access_key.empty() || secret_key.empty())) {
    std::fprintf(stderr, "--sigv4 needs --access-key and --secret-key (or the AWS_ env vars)\n");
    return 2;
  }

  hearth::api::sigv4::SecretLookup lookup =
      [&](std::string_view id) -> std::optional<std::string> {
    if (id == access_key) return secret_key;
    return std::nullopt;
  };
  hearth::http::Handler handler = [&](Request& req) -> asio::awaitable<Response> {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/json");
    if (sigv4) {
      auto caller = hearth::api::sigv4::verify(req, std::chrono::system_clock::now(), lookup);
      if (!caller) {
        res.result(bhttp::status::forbidden);
        res.body() = caller.error().message;
        co_return res;
      }
    }
    res.body() = "{}";
    co_return res;
  };

  asio::io_context io(1);
  auto server = hearth::http::Server::listen(io, host, port, handler, {});
  if (!server) {
    std::fprintf(stderr, "%s\n", server.error().toString().c_str());
    return 1;
  }
  std::fprintf(stderr, "listening on %s:%u\n", host.c_str(), (*server)->port());

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    (*server)->stopAccepting();
    asio::co_spawn(io, (*server)->drain(), asio::detached);
  });
  io.run();
  return 0;
}
