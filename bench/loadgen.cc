// hearth-loadgen: a closed-loop HTTP load generator for Hearth's API.
//
// Opens --concurrency keep-alive connections, each sending one request at a time (a new one as
// soon as the previous reply arrives), every request signed with SigV4 as the AWS SDKs sign it.
// By default it invokes --function through `POST /2015-03-31/functions/{name}/invocations`;
// --method/--path hit any route instead (e.g. a bare server, to measure the HTTP layer alone).
// Connections run as coroutines on --threads event-loop threads (default one). After --warmup
// requests that are not measured, it runs for --duration seconds or --requests requests and
// prints one JSON object:
//   {"requests", "errors", "seconds", "throughput_rps", "p50_us", "p90_us", "p99_us", "max_us"}
// A reply that is not 200 (202 with --invocation-type Event), or that carries
// X-Amz-Function-Error, or a failed connection counts as an error. Latency is measured per request
// with steady_clock, from just before the request is written to when the whole response has been
// read.
//
// Signing: the signature covers X-Amz-Date, which has one-second resolution, so each connection
// signs its request again whenever the second changes and reuses it within the same second —
// byte-for-byte what signing every request would send.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/sigv4.h"
#include "common/encoding.h"
#include "http/client.h"

namespace hearth::bench {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string endpoint = "http://127.0.0.1:9000";
  std::string function = "hello";
  std::string payload = "{}";
  std::string method = "POST";
  std::string path;  // default: the function's invocations path
  int concurrency = 16;
  int threads = 1;
  double duration = 10;
  int64_t requests = 0;
  int64_t warmup = 0;
  std::string access_key;
  std::string secret_key;
  std::string region;
  bool no_sign = false;
  std::string invocation_type;  // X-Amz-Invocation-Type, when set
};

struct Endpoint {
  std::string host;
  uint16_t port = 80;
  std::string host_header;
};

std::optional<Endpoint> parseEndpoint(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty() || url.find('/') != std::string_view::npos) return std::nullopt;
  Endpoint e;
  e.host_header = std::string(url);
  size_t colon = url.rfind(':');
  if (colon == std::string_view::npos) {
    e.host = std::string(url);
    return e;
  }
  e.host = std::string(url.substr(0, colon));
  std::string port(url.substr(colon + 1));
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p <= 0 || p > 65535) return std::nullopt;
  e.port = static_cast<uint16_t>(p);
  return e;
}

// Which requests a run sends: until a deadline, or a fixed number shared by all connections.
class Phase {
 public:
  static Phase timed(std::chrono::duration<double> d) {
    Phase p;
    p.end_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(d);
    return p;
  }
  static Phase counted(int64_t n) {
    Phase p;
    p.budget_.store(n);
    return p;
  }
  Phase(Phase&& other) noexcept : end_(other.end_), budget_(other.budget_.load()) {}

  // True if one more request should be sent. Thread-safe.
  bool take() {
    if (end_) return Clock::now() < *end_;
    return budget_.fetch_sub(1, std::memory_order_relaxed) > 0;
  }

 private:
  Phase() = default;
  std::optional<Clock::time_point> end_;
  std::atomic<int64_t> budget_{0};
};

struct Stats {
  std::vector<uint32_t> latencies_us;
  uint64_t errors = 0;
};

// One keep-alive connection and the request it keeps sending. Used by one coroutine at a time.
class Connection {
 public:
  Connection(asio::any_io_executor ex, const Options& o, const Endpoint& e, http::Request tmpl)
      : client_(std::move(ex)), options_(o), endpoint_(e), template_(std::move(tmpl)) {}

  asio::awaitable<void> run(Phase& phase, Stats* stats) {
    while (phase.take()) {
      if (!client_.isOpen()) {
        Result<void> connected = co_await client_.connect(endpoint_.host, endpoint_.port);
        if (!connected) {
          if (stats) ++stats->errors;
          if (!reported_) std::fprintf(stderr, "%s\n", connected.error().toString().c_str());
          reported_ = true;
          continue;
        }
      }
      http::Request& req = current();
      Clock::time_point start = Clock::now();
      Result<http::Response> res = co_await client_.send(req);
      auto elapsed = Clock::now() - start;
      if (!stats) continue;
      if (!res) {
        ++stats->errors;
        continue;
      }
      const bhttp::status expected =
          options_.invocation_type == "Event" ? bhttp::status::accepted : bhttp::status::ok;
      bool ok = res->result() == expected && res->find("X-Amz-Function-Error") == res->end();
      if (!ok) ++stats->errors;
      if (!ok && !reported_) {
        reported_ = true;
        std::fprintf(stderr, "first error reply: %u %s\n", res->result_int(), res->body().c_str());
      }
      stats->latencies_us.push_back(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
    }
  }

 private:
  // The request to send now, signed for the current second.
  http::Request& current() {
    if (options_.no_sign) return template_;
    auto now = std::chrono::system_clock::now();
    auto second = std::chrono::floor<std::chrono::seconds>(now);
    if (second != signed_second_) {
      signed_ = template_;
      api::sigv4::sign(signed_, options_.access_key, options_.secret_key, options_.region, now);
      signed_second_ = second;
    }
    return signed_;
  }

  http::Client client_;
  const Options& options_;
  const Endpoint& endpoint_;
  http::Request template_;
  http::Request signed_;
  std::chrono::sys_seconds signed_second_{};
  bool reported_ = false;
};

// Runs every connection through `phase` on its thread's io_context; returns when all are done.
void runPhase(std::vector<asio::io_context>& loops,
              std::vector<std::vector<std::unique_ptr<Connection>>>& connections, Phase& phase,
              std::vector<Stats>* stats) {
  std::vector<std::thread> threads;
  size_t index = 0;
  for (size_t t = 0; t < loops.size(); ++t) {
    loops[t].restart();
    for (auto& c : connections[t]) {
      Stats* s = stats ? &(*stats)[index] : nullptr;
      ++index;
      asio::co_spawn(loops[t], c->run(phase, s), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::fprintf(stderr, "connection failed: %s\n", ex.what());
        }
      });
    }
    threads.emplace_back([&loop = loops[t]] { loop.run(); });
  }
  for (std::thread& t : threads) t.join();
}

double percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()));
  return sorted[std::min(rank, sorted.size() - 1)];
}

int run(Options o) {
  std::optional<Endpoint> endpoint = parseEndpoint(o.endpoint);
  if (!endpoint) {
    std::fprintf(stderr, "--endpoint must look like http://host:port\n");
    return 2;
  }
  if (!o.no_sign && (o.access_key.empty() || o.secret_key.empty())) {
    std::fprintf(stderr,
                 "no credentials: pass --access-key/--secret-key, set AWS_ACCESS_KEY_ID/"
                 "AWS_SECRET_ACCESS_KEY, or --no-sign\n");
    return 2;
  }
  std::optional<bhttp::verb> method;
  if (bhttp::verb v = bhttp::string_to_verb(o.method); v != bhttp::verb::unknown) method = v;
  if (!method) {
    std::fprintf(stderr, "unknown --method %s\n", o.method.c_str());
    return 2;
  }
  if (o.path.empty()) {
    o.path = "/2015-03-31/functions/" + uriEncode(o.function, false) + "/invocations";
  }

  http::Request tmpl{*method, o.path, 11};
  tmpl.set(bhttp::field::host, endpoint->host_header);
  tmpl.set(bhttp::field::user_agent, "hearth-loadgen");
  if (!o.invocation_type.empty()) tmpl.set("X-Amz-Invocation-Type", o.invocation_type);
  if (*method == bhttp::verb::post || *method == bhttp::verb::put) tmpl.body() = o.payload;
  tmpl.prepare_payload();

  int threads = std::max(1, std::min(o.threads, o.concurrency));
  std::vector<asio::io_context> loops(static_cast<size_t>(threads));
  std::vector<std::vector<std::unique_ptr<Connection>>> connections(loops.size());
  for (int i = 0; i < o.concurrency; ++i) {
    size_t t = static_cast<size_t>(i % threads);
    connections[t].push_back(
        std::make_unique<Connection>(loops[t].get_executor(), o, *endpoint, tmpl));
  }

  if (o.warmup > 0) {
    Phase warmup = Phase::counted(o.warmup);
    runPhase(loops, connections, warmup, nullptr);
  }
  std::vector<Stats> stats(static_cast<size_t>(o.concurrency));
  Phase measured = o.requests > 0 ? Phase::counted(o.requests)
                                  : Phase::timed(std::chrono::duration<double>(o.duration));
  Clock::time_point start = Clock::now();
  runPhase(loops, connections, measured, &stats);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<uint32_t> latencies;
  uint64_t errors = 0;
  for (Stats& s : stats) {
    latencies.insert(latencies.end(), s.latencies_us.begin(), s.latencies_us.end());
    errors += s.errors;
  }
  std::sort(latencies.begin(), latencies.end());
  uint64_t requests = latencies.size();
  nlohmann::json out = {
      {"requests", requests},
      {"errors", errors},
      {"seconds", seconds},
      {"throughput_rps", seconds > 0 ? static_cast<double>(requests) / seconds : 0.0},
      {"p50_us", percentile(latencies, 50)},
      {"p90_us", percentile(latencies, 90)},
      {"p99_us", percentile(latencies, 99)},
      {"max_us", latencies.empty() ? 0.0 : latencies.back()},
  };
  std::printf("%s\n", out.dump().c_str());
  return errors == 0 ? 0 : 1;
}

std::string env(const char* name, std::string fallback = {}) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace
}  // namespace hearth::bench

int main(int argc, char** argv) {
  hearth::bench::Options o;
  o.access_key = hearth::bench::env("AWS_ACCESS_KEY_ID");
  o.secret_key = hearth::bench::env("AWS_SECRET_ACCESS_KEY");
  o.region =
      hearth::bench::env("AWS_REGION", hearth::bench::env("AWS_DEFAULT_REGION", "us-east-1"));

  CLI::App app{"hearth-loadgen: closed-loop, SigV4-signed HTTP load against a Hearth endpoint"};
  app.add_option("--endpoint", o.endpoint, "http://host:port")->capture_default_str();
  app.add_option("--function", o.function, "function to invoke")->capture_default_str();
  app.add_option("--payload", o.payload, "request body for POST/PUT")->capture_default_str();
  app.add_option("--method", o.method, "HTTP method")->capture_default_str();
  app.add_option("--invocation-type", o.invocation_type,
                 "X-Amz-Invocation-Type (Event: durable accepts, 202 expected)")
      ->check(CLI::IsMember({"RequestResponse", "Event", "DryRun"}));
  app.add_option("--path", o.path, "request target (default: the function's invocations path)");
  app.add_option("--concurrency,-c", o.concurrency, "connections")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--threads", o.threads, "event-loop threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto* duration = app.add_option("--duration,-d", o.duration, "seconds to run")
                       ->check(CLI::PositiveNumber)
                       ->capture_default_str();
  app.add_option("--requests,-n", o.requests, "requests to send (instead of --duration)")
      ->check(CLI::PositiveNumber)
      ->excludes(duration);
  app.add_option("--warmup", o.warmup, "unmeasured requests first")->check(CLI::NonNegativeNumber);
  app.add_option("--access-key", o.access_key, "default: $AWS_ACCESS_KEY_ID");
  app.add_option("--secret-key", o.secret_key, "default: $AWS_SECRET_ACCESS_KEY");
  app.add_option("--region", o.region, "default: $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1");
  app.add_flag("--no-sign", o.no_sign, "send unsigned requests");
  CLI11_PARSE(app, argc, argv);
  return hearth::bench::run(std::move(o));
}
