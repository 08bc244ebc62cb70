// hearthd: the Hearth platform daemon. `hearthd serve` runs every role in one process on an
// embedded store; `hearthd account create` adds a tenant. This file only wires concrete
// implementations together (shared/DESIGN.md §7).
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/api_service.h"
#include "codestore/chunked_code_store.h"
#include "codestore/code_cache.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/ids.h"
#include "common/log.h"
#include "control/account_registry.h"
#include "control/event_source_mapping.h"
#include "control/function_service.h"
#include "eventsources/mapping_runner.h"
#include "frontend/event_target_impl.h"
#include "frontend/invoker.h"
#include "frontend/log_store.h"
#include "http/server.h"
#include "queue/poller.h"
#include "queue/sqlite_event_queue.h"
#include "sandbox/sandbox.h"
#include "store/metadata_store.h"
#include "worker/local_worker.h"
#include "workermgr/worker_manager.h"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace hearth;

constexpr char kRootAccountName[] = "root";
constexpr char kCredentialsProfile[] = "hearth";

struct ServeOptions {
  std::string listen = "127.0.0.1:9000";
  std::string data_dir = ".hearth";
  std::string region = "us-east-1";
  int64_t idle_timeout_s = 600;
  int64_t memory_budget_mb = 0;  // 0: three quarters of the host's memory
  std::string log_level = "info";
  int64_t event_concurrency = 32;
  int64_t event_retry_base_ms = 60000;
  std::string code_keyring;    // default <data-dir>/keyring
  std::string code_cache_dir;  // default: defaultCodeCacheDir()
  int64_t code_cache_mib = 4096;
  std::vector<std::string> shared_code_scope;
  std::string registry_config;  // Docker config.json with registry credentials
};

// Where the code store lives and which keyring it uses, for every subcommand.
codestore::CodeStoreOptions codeStoreOptions(const fs::path& data_dir, const std::string& keyring,
                                             const std::vector<std::string>& shared = {},
                                             const std::string& registry_config = {}) {
  codestore::CodeStoreOptions o;
  if (!registry_config.empty()) o.registry_config = fs::absolute(registry_config);
  o.dir = data_dir / "code";
  o.keyring = keyring.empty() ? data_dir / "keyring" : fs::absolute(keyring);
  o.shared_scope_accounts = {shared.begin(), shared.end()};
  return o;
}

// Decrypted code lives on tmpfs, in a directory named after the data dir: two daemons on one
// host never share one, and a restarted daemon clears what its predecessor left.
fs::path defaultCodeCacheDir(const fs::path& data_dir) {
  return fs::path("/dev/shm") /
         ("hearth-code-" + hexEncode(sha256(data_dir.string())).substr(0, 16));
}

[[noreturn]] void die(const std::string& what) {
  std::cerr << "hearthd: " << what << "\n";
  std::exit(1);
}

template <typename T>
T orDie(Result<T> r, const std::string& what) {
  if (!r) die(what + ": " + r.error().toString());
  return std::move(r).value();
}

void orDie(Result<void> r, const std::string& what) {
  if (!r) die(what + ": " + r.error().toString());
}

fs::path exeDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) die("cannot locate /proc/self/exe: " + ec.message());
  return exe.parent_path();
}

std::pair<std::string, uint16_t> parseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) die("--listen must be HOST:PORT, got " + listen);
  std::string host = listen.substr(0, colon);
  char* end = nullptr;
  long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) die("bad port in --listen " + listen);
  return {host, static_cast<uint16_t>(port)};
}

std::unique_ptr<store::MetadataStore> openStore(const fs::path& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) die("cannot create data dir " + data_dir.string() + ": " + ec.message());
  fs::permissions(data_dir, fs::perms::owner_all, ec);
  return orDie(store::openSqliteStore((data_dir / "metadata.db").string()), "metadata store");
}

// The root account: from HEARTH_ROOT_* on first start, else generated and written to
// DIR/credentials.
void ensureRootAccount(control::AccountRegistry& accounts, const fs::path& data_dir,
                       const std::string& endpoint, const std::string& region) {
  const char* env_key = std::getenv("HEARTH_ROOT_ACCESS_KEY_ID");
  const char* env_secret = std::getenv("HEARTH_ROOT_SECRET_ACCESS_KEY");
  bool from_env = env_key && env_secret && *env_key && *env_secret;
  if (std::optional<store::Account> root = accounts.findByName(kRootAccountName)) {
    if (from_env && root->access_key_id != env_key) {
      LOG_WARN(
          "HEARTH_ROOT_ACCESS_KEY_ID differs from the root key stored in {}; the stored key "
          "stays in force",
          data_dir.string());
    }
    return;
  }
  std::optional<std::pair<std::string, std::string>> keys;
  if (from_env) keys = std::make_pair(std::string(env_key), std::string(env_secret));
  store::Account root = orDie(accounts.create(kRootAccountName, keys), "create root account");
  fs::path creds = data_dir / "credentials";
  orDie(control::writeCredentialsFile(creds.string(), kCredentialsProfile, root),
        "write " + creds.string());
  LOG_INFO("created root account {}; its keys are in {} (profile '{}')", root.account_id,
           creds.string(), kCredentialsProfile);
  LOG_INFO(
      "try: AWS_SHARED_CREDENTIALS_FILE={} aws --profile {} --region {} --endpoint-url {} "
      "lambda list-functions",
      fs::absolute(creds).string(), kCredentialsProfile, region, endpoint);
}

uint64_t defaultMemoryBudgetMb() {
  // SAFETY: sysconf only reads system constants.
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 4096;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / (1 << 20) * 3 / 4;
}

int serve(const ServeOptions& o) {
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  auto [host, port] = parseListen(o.listen);
  fs::path data_dir = fs::absolute(o.data_dir);
  fs::path bin = exeDir();
  // SAFETY: process-wide, before any thread exists: a peer closing a socket or the channel
  // must surface as EPIPE on that write, not kill the daemon.
  ::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<store::MetadataStore> store = openStore(data_dir);
  control::AccountRegistry accounts(*store);
  orDie(accounts.load(), "load accounts");
  std::unique_ptr<codestore::ChunkedCodeStore> code =
      orDie(codestore::ChunkedCodeStore::open(
                codeStoreOptions(data_dir, o.code_keyring, o.shared_code_scope, o.registry_config)),
            "code store");
  control::FunctionService functions(*store, *code, o.region);
  orDie(functions.load(), "load functions");

  // A cgroup parent of this daemon's own: two daemons on one host never remove each other's.
  sandbox::FactoryOptions fopts;
  fopts.cgroup_name = "hearth-" + std::to_string(::getpid());
  std::unique_ptr<sandbox::SandboxFactory> sandboxes = orDie(
      sandbox::makeProcessSandboxFactory(fopts), "process sandbox (hearthd serve needs root)");
  // Scratch of sandboxes from a previous run that did not shut down cleanly.
  std::error_code ec;
  fs::remove_all(data_dir / "sandboxes", ec);
  fs::create_directories(data_dir / "sandboxes", ec);

  asio::io_context io(1);
  asio::thread_pool blocking(4);

  worker::LocalWorkerOptions wopts;
  wopts.init_binary = bin / "hearth-init";
  wopts.runtimes_dir = bin.parent_path() / "share" / "hearth" / "runtimes";
  wopts.work_dir = data_dir / "sandboxes";
  wopts.region = o.region;
  if (!fs::exists(wopts.init_binary)) die("missing " + wopts.init_binary.string());
  if (!fs::exists(wopts.runtimes_dir)) die("missing " + wopts.runtimes_dir.string());
  codestore::CodeCacheOptions copts;
  copts.dir =
      o.code_cache_dir.empty() ? defaultCodeCacheDir(data_dir) : fs::absolute(o.code_cache_dir);
  copts.file_cache_bytes = static_cast<uint64_t>(o.code_cache_mib) << 20;
  std::unique_ptr<codestore::CodeCache> code_cache =
      orDie(codestore::CodeCache::open(*code, copts), "code cache");
  worker::LocalWorker local_worker(wopts, *sandboxes, *code_cache, blocking.get_executor());

  uint64_t budget =
      o.memory_budget_mb > 0 ? static_cast<uint64_t>(o.memory_budget_mb) : defaultMemoryBudgetMb();
  workermgr::Options mopts;
  mopts.idle_timeout = std::chrono::seconds(o.idle_timeout_s);
  workermgr::WorkerManager workers(io.get_executor(), {{&local_worker, budget}}, mopts);
  workers.start();

  frontend::LogStore logs(data_dir / "logs");
  functions.setChangeListener([&](const std::string& account, const std::string& name) {
    asio::post(io, [&workers, &logs, account, name] {
      workers.retire(account, name);
      logs.closeFunction(account, name);
    });
  });
  std::unique_ptr<queue::SqliteEventQueue> events =
      orDie(queue::SqliteEventQueue::open((data_dir / "queue.db").string(), io.get_executor()),
            "event queue");
  frontend::Invoker invoker(functions, workers, logs, *events, o.region);
  frontend::EventTargetImpl event_target(functions, invoker, o.region);
  queue::PollerOptions popts;
  popts.concurrency = static_cast<size_t>(o.event_concurrency);
  popts.retry_base = std::chrono::milliseconds(o.event_retry_base_ms);
  // Lambda backs off throttled events from about a second up to five minutes; a shorter retry
  // base (tests) shortens those too, in proportion.
  popts.backoff_min = std::min(std::chrono::milliseconds(1000),
                               popts.retry_base / 60 + std::chrono::milliseconds(1));
  popts.backoff_max = std::min(std::chrono::milliseconds(300000), popts.retry_base * 5);
  queue::Poller poller(*events, event_target, io.get_executor(), popts);

  // Event source mappings: their pollers follow the control plane's changes, applied on the
  // data plane in order.
  eventsources::MappingRunner streams(*events, event_target, io.get_executor());
  control::EventSourceMappingService mappings(*store, functions, o.region);
  orDie(mappings.load(), "load event source mappings");
  auto run_mapping = [&streams, region = o.region](const std::string& uuid, control::MappingPtr m) {
    if (!m) return streams.submit(uuid, std::nullopt, false);
    Result<eventsources::StreamMapping> s = frontend::streamMappingOf(*m, region);
    if (!s) {
      LOG_ERROR("event source mapping {}: {}", uuid, s.error().toString());
      return;
    }
    streams.submit(uuid, std::move(*s), m->enabled);
  };
  for (const control::MappingPtr& m : mappings.all()) run_mapping(m->uuid, m);
  mappings.setChangeListener([&io, run_mapping](const std::string& uuid, control::MappingPtr m) {
    asio::post(io, [run_mapping, uuid, m] { run_mapping(uuid, m); });
  });

  api::ApiService api(api::ApiService::Deps{accounts, functions, invoker, *code, *events, mappings,
                                            streams, blocking.get_executor(), o.region,
                                            randomHex(32)});

  http::ServerOptions sopts;
  sopts.body_limit = api::kMaxRequestBodyBytes;
  sopts.too_large = [&api](const http::Request& req) { return api.tooLarge(req); };
  std::unique_ptr<http::Server> server =
      orDie(http::Server::listen(
                io, host, port, [&api](http::Request& req) { return api.handle(req); }, sopts),
            "listen on " + o.listen);
  std::string endpoint = "http://" + host + ":" + std::to_string(server->port());
  ensureRootAccount(accounts, data_dir, endpoint, o.region);
  poller.start();
  LOG_INFO("hearthd listening on {} (data dir {}, memory budget {} MB, {} queued events)", endpoint,
           data_dir.string(), budget, events->depth());

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& err, int sig) {
    if (err) return;
    LOG_INFO("signal {}: draining in-flight requests", sig);
    server->stopAccepting();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await server->drain();
          // Events being invoked finish; the rest stay queued for the next start. Stream
          // pollers store the position of the batch they were running.
          co_await streams.stop();
          co_await poller.stop();
          workers.shutdown();
        },
        asio::detached);
  });
  io.run();
  server.reset();
  blocking.join();  // sandbox teardowns posted by retired environments
  LOG_INFO("hearthd stopped");
  return 0;
}

// hearthd stats: per account, what its code costs. Reads the code index, so it works while a
// daemon is serving the same data dir.
int printStats(const std::string& data_dir) {
  std::vector<codestore::CodeUsage> usage =
      orDie(codestore::ChunkedCodeStore::readUsage(fs::absolute(data_dir) / "code"), "code stats");
  nlohmann::json accounts = nlohmann::json::array();
  for (const codestore::CodeUsage& u : usage) {
    accounts.push_back(
        {{"AccountId", u.account_id},
         {"CodeObjects", u.objects},
         {"LogicalBytes", u.logical_bytes},
         {"StoredBytes", u.stored_bytes},
         {"DedupRatio", u.stored_bytes == 0 ? 0.0
                                            : static_cast<double>(u.logical_bytes) /
                                                  static_cast<double>(u.stored_bytes)}});
  }
  std::cout << nlohmann::json{{"Accounts", std::move(accounts)}}.dump(2) << "\n";
  return 0;
}

// hearthd rotate-keys: a new master key wraps every data key; the old ones are dropped. Needs the
// data dir to itself (the code store's lock).
int rotateKeys(const std::string& data_dir, const std::string& keyring) {
  std::unique_ptr<codestore::ChunkedCodeStore> code =
      orDie(codestore::ChunkedCodeStore::open(codeStoreOptions(fs::absolute(data_dir), keyring)),
            "code store");
  orDie(code->rotateKeys(), "rotate keys");
  std::cout << "rotated: every data key is wrapped by a new master key\n";
  return 0;
}

int createAccount(const std::string& data_dir, const std::string& name) {
  std::unique_ptr<store::MetadataStore> store = openStore(fs::absolute(data_dir));
  control::AccountRegistry accounts(*store);
  orDie(accounts.load(), "load accounts");
  store::Account a = orDie(accounts.create(name), "create account " + name);
  std::cout << nlohmann::json{{"AccessKeyId", a.access_key_id},
                              {"SecretAccessKey", a.secret_access_key},
                              {"AccountId", a.account_id}}
                   .dump(2)
            << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("hearthd"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App app{"hearthd: the Hearth serverless function platform daemon"};
  app.require_subcommand(1);

  ServeOptions serve_opts;
  CLI::App* serve_cmd = app.add_subcommand("serve", "run every role in one process");
  serve_cmd->add_option("--listen", serve_opts.listen, "HOST:PORT of the Lambda API")
      ->capture_default_str();
  serve_cmd->add_option("--data-dir", serve_opts.data_dir, "where state lives")
      ->capture_default_str();
  serve_cmd->add_option("--region", serve_opts.region, "region in ARNs and signatures")
      ->capture_default_str();
  serve_cmd
      ->add_option("--sandbox-idle-timeout", serve_opts.idle_timeout_s,
                   "seconds an idle execution environment is kept warm")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{86400}));
  serve_cmd
      ->add_option("--memory-budget", serve_opts.memory_budget_mb,
                   "MB of MemorySize all live environments may hold (default: 3/4 of RAM)")
      ->check(CLI::Range(int64_t{128}, int64_t{1} << 30));
  serve_cmd->add_option("--log-level", serve_opts.log_level, "trace|debug|info|warn|error")
      ->capture_default_str();
  serve_cmd
      ->add_option("--event-concurrency", serve_opts.event_concurrency,
                   "asynchronous events invoked at once, across all functions")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  serve_cmd
      ->add_option("--event-retry-base-ms", serve_opts.event_retry_base_ms,
                   "ms before the first retry of a failed asynchronous invoke (the second waits "
                   "twice as long); Lambda waits about a minute")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{3600000}));
  serve_cmd->add_option("--code-keyring", serve_opts.code_keyring,
                        "the code store's keyring (default: DATA_DIR/keyring); keep it off the "
                        "data dir's disk so a copy of that reveals no code");
  serve_cmd->add_option("--code-cache-dir", serve_opts.code_cache_dir,
                        "tmpfs directory for decrypted code (default: /dev/shm/hearth-code-*)");
  serve_cmd
      ->add_option("--code-cache-mib", serve_opts.code_cache_mib,
                   "MiB of decrypted code files kept on the host before unused trees are evicted")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{16}, int64_t{1} << 30));
  serve_cmd->add_option("--registry-config", serve_opts.registry_config,
                        "Docker config.json holding credentials for the registries ImageUri "
                        "names (auths.<host>.auth)");
  serve_cmd->add_option("--shared-code-scope", serve_opts.shared_code_scope,
                        "account id whose code deduplicates with the other listed accounts' "
                        "(public base content); repeatable");

  std::string account_dir = ".hearth";
  std::string account_name;
  CLI::App* account_cmd = app.add_subcommand("account", "manage accounts");
  account_cmd->require_subcommand(1);
  CLI::App* create_cmd = account_cmd->add_subcommand("create", "add an account, print its keys");
  create_cmd->add_option("--data-dir", account_dir, "hearthd's data dir")->capture_default_str();
  create_cmd->add_option("name", account_name, "account name")->required();

  std::string stats_dir = ".hearth";
  CLI::App* stats_cmd = app.add_subcommand("stats", "code storage per account, as JSON");
  stats_cmd->add_option("--data-dir", stats_dir, "hearthd's data dir")->capture_default_str();

  std::string rotate_dir = ".hearth";
  std::string rotate_keyring;
  CLI::App* rotate_cmd =
      app.add_subcommand("rotate-keys", "wrap every code data key under a new master key");
  rotate_cmd->add_option("--data-dir", rotate_dir, "hearthd's data dir")->capture_default_str();
  rotate_cmd->add_option("--code-keyring", rotate_keyring, "as for serve");

  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) return serve(serve_opts);
  if (stats_cmd->parsed()) return printStats(stats_dir);
  if (rotate_cmd->parsed()) return rotateKeys(rotate_dir, rotate_keyring);
  if (create_cmd->parsed()) return createAccount(account_dir, account_name);
  return 2;
}
