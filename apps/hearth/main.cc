// hearth: Hearth's own command-line client, for what the AWS CLI has no command for. Today: each
// account's built-in dead-letter store (list, redrive, delete). It speaks Hearth's API over HTTP,
// SigV4-signed like the AWS CLI, with the same credentials (src/client/api_client.h).
//
//   hearth [--endpoint-url URL] [--region R] [--data-dir DIR] dead-letters list [--queue Q]
//   hearth ... dead-letters redrive [--queue Q] [--id N]...    (no --id: every entry)
//   hearth ... dead-letters delete  [--queue Q] [--id N]...
//
// Output is the API's JSON on stdout; failures go to stderr with exit status 1.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "client/api_client.h"
#include "common/encoding.h"

namespace {

namespace asio = boost::asio;
using hearth::Result;
using nlohmann::json;
using verb = boost::beast::http::verb;

constexpr char kApi[] = "/hearth/2026-12-01/dead-letters/";

struct Options {
  std::string endpoint;
  std::string region;
  std::string data_dir;
  std::string queue = "default";
  std::vector<uint64_t> ids;
};

std::string envOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// The body as JSON, or the failure (a Lambda-shaped error, or an unreachable daemon).
Result<json> parse(Result<hearth::http::Response> res) {
  if (!res) return res.error();
  json body = json::parse(res->body(), nullptr, /*allow_exceptions=*/false);
  if (res->result_int() / 100 != 2) {
    std::string message =
        body.is_object() ? body.value("message", body.value("Message", "")) : res->body();
    return hearth::makeError(hearth::ErrorCode::kIo,
                             std::string((*res)["X-Amzn-ErrorType"]) + ": " + message);
  }
  if (body.is_discarded()) {
    return hearth::makeError(hearth::ErrorCode::kIo, "the daemon answered with no JSON body");
  }
  return body;
}

asio::awaitable<Result<json>> run(hearth::client::ApiClient& api, const std::string& command,
                                  const Options& o) {
  const std::string base = kApi + hearth::uriEncode(o.queue, false);
  if (command == "list") {
    json all = json::array();
    std::string marker;
    for (;;) {
      std::string target = base + "?MaxItems=1000";
      if (!marker.empty()) target += "&Marker=" + marker;
      Result<json> page = parse(co_await api.call(verb::get, target));
      if (!page) co_return page.error();
      for (json& e : (*page)["DeadLetters"]) all.push_back(std::move(e));
      if (!page->contains("NextMarker")) break;
      marker = (*page)["NextMarker"].get<std::string>();
    }
    co_return json{{"DeadLetters", std::move(all)}};
  }
  json body = json::object();
  if (!o.ids.empty()) body["Ids"] = o.ids;
  co_return parse(co_await api.call(verb::post, base + "/" + command, body.dump()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hearth: Hearth's command-line client"};
  app.require_subcommand(1);
  Options o;
  o.endpoint = envOr("HEARTH_ENDPOINT", "http://127.0.0.1:9000");
  o.region = envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1").c_str());
  app.add_option("--endpoint-url", o.endpoint, "hearthd's API ($HEARTH_ENDPOINT)")
      ->capture_default_str();
  app.add_option("--region", o.region, "region to sign for ($AWS_REGION)")->capture_default_str();
  app.add_option("--data-dir", o.data_dir,
                 "read the keys from hearthd's DIR/credentials (profile 'hearth')");

  CLI::App* dl = app.add_subcommand("dead-letters", "the account's built-in dead-letter store");
  dl->require_subcommand(1);
  std::string command;
  for (auto [name, help] : {std::pair{"list", "list a queue's entries, oldest first"},
                            std::pair{"redrive", "send entries back to their functions"},
                            std::pair{"delete", "drop entries"}}) {
    CLI::App* sub = dl->add_subcommand(name, help);
    sub->add_option("--queue", o.queue,
                    "the store's queue (a DeadLetterConfig or OnFailure "
                    "arn:aws:sqs:...:<queue>)")
        ->capture_default_str();
    if (std::string_view(name) != "list") {
      sub->add_option("--id", o.ids, "an entry's Id (repeatable; none: every entry)");
    }
    sub->callback([&command, name] { command = name; });
  }
  CLI11_PARSE(app, argc, argv);

  Result<hearth::client::Endpoint> endpoint = hearth::client::parseEndpoint(o.endpoint);
  if (!endpoint) {
    std::cerr << "hearth: " << endpoint.error().message << "\n";
    return 1;
  }
  Result<hearth::client::Credentials> creds = hearth::client::findCredentials(o.data_dir);
  if (!creds) {
    std::cerr << "hearth: no credentials: " << creds.error().message
              << " (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or --data-dir)\n";
    return 1;
  }
  asio::io_context io;
  hearth::client::ApiClient api(io.get_executor(), *endpoint, *creds, o.region);
  auto result = asio::co_spawn(io, run(api, command, o), asio::use_future);
  io.run();
  Result<json> out = result.get();
  if (!out) {
    std::cerr << "hearth: " << out.error().message << "\n";
    return 1;
  }
  std::cout << out->dump(2) << "\n";
  return 0;
}
