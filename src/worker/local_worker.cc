#include "worker/local_worker.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>

#include "channel/frame.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/offload.h"
#include "common/time_format.h"
#include "common/unique_fd.h"

namespace hearth::worker {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr char kInitPath[] = "/var/rapid/init";
// In an image's root, where nothing of the image can be: a top-level name of Hearth's own.
constexpr char kImageInitPath[] = "/hearth-init";
constexpr char kRuntimeApi[] = "127.0.0.1:9001";

// `name` found along `path` (':'-separated) in the image tree at `root`, as "/dir/name"; `name`
// itself if it is nowhere (hearth-init's exec then fails, reported as Runtime.InvalidEntrypoint).
// Links are resolved inside the tree, never on the host.
std::string findInImage(const std::filesystem::path& root, const std::string& path,
                        const std::string& name) {
  // SAFETY: plain open of the tree's root directory; owned by the UniqueFd.
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return name;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/" + name;
    start = end + 1;
    if (candidate.front() != '/') continue;
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT;
    // SAFETY: openat2 with RESOLVE_IN_ROOT resolves `candidate`, its links included, as if
    // `dir` were "/": it cannot reach outside the tree. `how` is fully initialised.
    UniqueFd found(
        static_cast<int>(::syscall(SYS_openat2, dir.get(), candidate.c_str(), &how, sizeof(how))));
    if (found) return candidate;
  }
  return name;
}

// Lambda gives the init phase 10 seconds, separately from the function timeout.
constexpr std::chrono::seconds kInitTimeout{10};
// What one invocation's log may hold in memory; a function printing more loses the excess.
constexpr size_t kMaxInvokeLogBytes = 1 << 20;
// Lambda's ratio: 1769 MB of memory buys one full CPU.
constexpr double kMemoryMbPerCpu = 1769.0;

std::string signalName(int sig) {
  const char* s = ::strsignal(sig);
  std::string out = s ? s : "signal " + std::to_string(sig);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string errorJson(const std::string& type, const std::string& message) {
  return nlohmann::json{{"errorType", type}, {"errorMessage", message}}.dump();
}

// The errorType of a runtime's error body, when the header did not say.
std::string errorTypeOf(const std::string& header_type, const std::string& body) {
  if (!header_type.empty()) return header_type;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    auto it = j.find("errorType");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return "Runtime.Unknown";
}

// One environment: a sandbox with hearth-init as PID 1 and the worker's end of its channel.
class ProcessEnvironment : public Environment {
 public:
  ProcessEnvironment(LocalWorker& worker, EnvironmentSpec spec, std::string log_stream,
                     std::shared_ptr<const codestore::CodeLease> code,
                     std::unique_ptr<sandbox::Sandbox> sandbox, uid_t uid, asio::any_io_executor io,
                     asio::any_io_executor blocking, Clock::time_point started)
      : worker_(worker),
        spec_(std::move(spec)),
        log_stream_(std::move(log_stream)),
        code_(std::move(code)),
        sandbox_(std::move(sandbox)),
        uid_(uid),
        socket_(io),
        blocking_(blocking),
        started_(started) {
    boost::system::error_code ec;
    socket_.assign(asio::local::stream_protocol(), sandbox_->channel().release(), ec);
    if (ec) broken_ = true;
  }

  ~ProcessEnvironment() override {
    boost::system::error_code ec;
    socket_.close(ec);
    // Tearing a sandbox down waits for its processes and cgroups: off the data plane.
    // The code tree is released after the sandbox that mounts it is gone.
    asio::post(blocking_, [sandbox = std::move(sandbox_), code = std::move(code_),
                           &worker = worker_, uid = uid_]() mutable {
      sandbox.reset();
      code.reset();
      worker.releaseUid(uid);
    });
  }

  const EnvironmentSpec& spec() const override { return spec_; }
  const std::string& logStream() const override { return log_stream_; }
  bool reusable() const override { return !broken_; }

  asio::awaitable<Result<InvokeResult>> invoke(InvokeRequest request) override {
    InvokeResult result;
    log_ = &result.log;
    if (!ready_) {
      // The runtime's init (up to its first GET /next) happens inside this invocation.
      std::optional<InvokeResult> failed = co_await awaitReady(request.request_id, result);
      if (failed) co_return std::move(*failed);
      result.init_duration =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_);
    } else if (Result<void> r = sandbox_->resetPeak(); !r) {
      LOG_WARN("sandbox {}: reset memory peak: {}", sandbox_->id(), r.error().toString());
    }

    Clock::time_point begin = Clock::now();
    channel::Invoke frame;
    frame.request_id = request.request_id;
    frame.deadline_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            (std::chrono::system_clock::now() + spec_.timeout).time_since_epoch())
            .count());
    frame.invoked_function_arn = request.invoked_function_arn;
    frame.trace_id = "Root=1-" + randomHex(4) + "-" + randomHex(12) + ";Sampled=0";
    frame.client_context = std::move(request.client_context);
    frame.payload = std::move(request.payload);
    out_.clear();
    channel::encode(frame, out_);
    boost::system::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(out_),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // hearth-init is gone: the runtime died while idle.
      broken_ = true;
      co_return exited(request.request_id, result, begin);
    }

    Deadline deadline(*this, spec_.timeout);
    MemorySampler sampler(*this);
    while (true) {
      std::optional<channel::Frame> f = co_await nextFrame();
      if (!f) break;
      if (auto* response = std::get_if<channel::Response>(&*f)) {
        result.payload = std::move(response->payload);
        co_return finish(result, begin);
      }
      if (auto* error = std::get_if<channel::FunctionError>(&*f)) {
        result.function_error = true;
        result.error_type = errorTypeOf(error->error_type, error->payload);
        result.payload = std::move(error->payload);
        co_return finish(result, begin);
      }
      if (std::holds_alternative<channel::Exit>(*f)) {
        exit_ = std::get<channel::Exit>(*f);
        break;
      }
    }
    broken_ = true;
    if (deadline.fired()) co_return timedOut(request.request_id, result, begin, spec_.timeout);
    co_return exited(request.request_id, result, begin);
  }

 private:
  // Kills the sandbox if the guarded phase outlives `limit`. A timer whose expiry is already
  // queued cannot be cancelled, so the handler reaches the guard only through shared state that
  // the destructor disarms.
  struct Deadline {
    struct State {
      ProcessEnvironment* env;  // null once the guard is gone
      bool fired = false;
    };
    Deadline(ProcessEnvironment& env, std::chrono::steady_clock::duration limit)
        : state(std::make_shared<State>(State{&env})), timer(env.socket_.get_executor()) {
      timer.expires_after(limit);
      timer.async_wait([state = state](const boost::system::error_code& ec) {
        if (ec || !state->env) return;
        state->fired = true;
        state->env->sandbox_->kill();
      });
    }
    ~Deadline() {
      state->env = nullptr;
      timer.cancel();
    }
    bool fired() const { return state->fired; }
    std::shared_ptr<State> state;
    asio::steady_timer timer;
  };

  // Samples the sandbox's memory without page cache while an invocation runs longer than one
  // period. The kernel's peak counters include page cache (a function filling /tmp), which
  // Max Memory Used must not; for invocations that outlive a period the sampled maximum is
  // used instead (it can miss a spike shorter than the period). Disarmed like Deadline.
  struct MemorySampler {
    static constexpr std::chrono::milliseconds kPeriod{20};
    struct State {
      ProcessEnvironment* env;  // null once the sampler is gone
      asio::steady_timer timer;
      uint64_t max_bytes = 0;
      bool sampled = false;
    };
    explicit MemorySampler(ProcessEnvironment& env)
        : state(std::make_shared<State>(
              State{&env, asio::steady_timer(env.socket_.get_executor())})) {
      env.sampler_ = this;
      arm(state);
    }
    ~MemorySampler() {
      state->env->sampler_ = nullptr;
      state->env = nullptr;
      state->timer.cancel();
    }
    static void arm(const std::shared_ptr<State>& state) {
      state->timer.expires_after(kPeriod);
      state->timer.async_wait([state](const boost::system::error_code& ec) {
        if (ec || !state->env) return;
        if (Result<sandbox::Usage> u = state->env->sandbox_->usage(); u) {
          state->max_bytes = std::max(state->max_bytes, u->memory_current_bytes);
          state->sampled = true;
        }
        arm(state);
      });
    }
    std::shared_ptr<State> state;
  };

  // Reads frames until the runtime is ready. Returns the failed result if init failed.
  asio::awaitable<std::optional<InvokeResult>> awaitReady(const std::string& request_id,
                                                          InvokeResult& result) {
    Clock::time_point begin = Clock::now();
    Deadline deadline(*this, kInitTimeout);
    while (true) {
      std::optional<channel::Frame> f = co_await nextFrame();
      if (!f) break;
      if (std::holds_alternative<channel::Ready>(*f)) {
        ready_ = true;
        // Init ran with the CPU unthrottled (as Lambda boosts init); now the function gets
        // its share: MemorySize / 1769 MB of one CPU.
        if (Result<void> r = sandbox_->setCpus(spec_.memory_mb / kMemoryMbPerCpu); !r) {
          LOG_WARN("sandbox {}: cpu limit: {}", sandbox_->id(), r.error().toString());
        }
        co_return std::nullopt;
      }
      if (auto* init_error = std::get_if<channel::InitError>(&*f)) {
        broken_ = true;
        result.function_error = true;
        result.error_type = errorTypeOf(init_error->error_type, init_error->payload);
        result.payload = std::move(init_error->payload);
        co_return finish(result, begin);
      }
      if (std::holds_alternative<channel::Exit>(*f)) {
        exit_ = std::get<channel::Exit>(*f);
        break;
      }
    }
    broken_ = true;
    if (deadline.fired()) co_return timedOut(request_id, result, begin, kInitTimeout);
    co_return exited(request_id, result, begin);
  }

  // The next frame that is not a log line (log lines go to the invocation's log), or nullopt
  // when the channel ended or broke.
  asio::awaitable<std::optional<channel::Frame>> nextFrame() {
    while (true) {
      while (std::optional<channel::Frame> f = decoder_.next()) {
        if (auto* log = std::get_if<channel::Log>(&*f)) {
          appendLog(log->data);
          continue;
        }
        co_return f;
      }
      if (decoder_.failed()) {
        LOG_WARN("sandbox {}: corrupt channel stream", sandbox_->id());
        sandbox_->kill();
        co_return std::nullopt;
      }
      boost::system::error_code ec;
      size_t n = co_await socket_.async_read_some(asio::buffer(in_),
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return std::nullopt;
      decoder_.feed(std::string_view(in_.data(), n));
    }
  }

  void appendLog(std::string_view data) {
    if (log_->size() >= kMaxInvokeLogBytes) return;
    log_->append(data.substr(0, kMaxInvokeLogBytes - log_->size()));
  }

  // Stamps duration and memory use on `result` and hands it out.
  InvokeResult finish(InvokeResult& result, Clock::time_point begin) {
    stamp(result, begin);
    return std::move(result);
  }

  void stamp(InvokeResult& result, Clock::time_point begin) {
    result.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - begin);
    if (Result<sandbox::Usage> u = sandbox_->usage(); u) {
      result.max_memory_bytes = u->memory_peak_bytes;
      if (sampler_ && sampler_->state->sampled) {
        result.max_memory_bytes = std::max(sampler_->state->max_bytes, u->memory_current_bytes);
      }
      oom_killed_ = u->oom_killed;
    }
  }

  InvokeResult timedOut(const std::string& request_id, InvokeResult& result,
                        Clock::time_point begin, std::chrono::seconds limit) {
    result.function_error = true;
    result.timed_out = true;
    result.error_type = "Sandbox.Timedout";
    result.payload =
        errorJson("Sandbox.Timedout", "RequestId: " + request_id + " Error: Task timed out after " +
                                          std::to_string(limit.count()) + ".00 seconds");
    return finish(result, begin);
  }

  InvokeResult exited(const std::string& request_id, InvokeResult& result,
                      Clock::time_point begin) {
    stamp(result, begin);
    std::string how;
    if (exit_ && exit_->kind == channel::ExitKind::kExited) {
      how = "exit status " + std::to_string(exit_->status);
    } else {
      // Signalled, or hearth-init itself was killed (the OOM killer, or a broken sandbox).
      how = "signal: " + signalName(exit_ ? exit_->status : SIGKILL);
    }
    std::string message = "RequestId: " + request_id + " Error: Runtime exited with error: " + how;
    result.function_error = true;
    result.error_type = "Runtime.ExitError";
    result.payload = errorJson("Runtime.ExitError", message);
    appendLog(message + "\nRuntime.ExitError\n");
    if (oom_killed_) LOG_INFO("sandbox {}: out of memory", sandbox_->id());
    return std::move(result);
  }

  LocalWorker& worker_;
  EnvironmentSpec spec_;
  std::string log_stream_;
  std::shared_ptr<const codestore::CodeLease> code_;  // mounted at /var/task, or the image root
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  uid_t uid_;
  asio::local::stream_protocol::socket socket_;
  asio::any_io_executor blocking_;
  Clock::time_point started_;
  channel::Decoder decoder_;
  std::array<char, 64 * 1024> in_{};
  std::string out_;
  std::string* log_ = nullptr;        // the running invocation's log
  MemorySampler* sampler_ = nullptr;  // the running invocation's, if any
  std::optional<channel::Exit> exit_;
  bool ready_ = false;
  bool broken_ = false;
  bool oom_killed_ = false;
};

}  // namespace

std::string bootstrapFor(const std::string& runtime) {
  if (runtime.starts_with("python") || runtime.starts_with("nodejs")) {
    return "/var/runtime/bootstrap";
  }
  if (runtime.starts_with("provided")) return "/var/task/bootstrap";
  return {};
}

LocalWorker::LocalWorker(LocalWorkerOptions options, sandbox::SandboxFactory& sandboxes,
                         codestore::CodeCache& code, asio::any_io_executor blocking)
    : options_(std::move(options)),
      sandboxes_(sandboxes),
      code_(code),
      blocking_(blocking),
      next_uid_(options_.first_uid) {}

LocalWorker::~LocalWorker() = default;

Result<uid_t> LocalWorker::allocateUid() {
  std::lock_guard lock(uid_mu_);
  if (!free_uids_.empty()) {
    uid_t uid = free_uids_.back();
    free_uids_.pop_back();
    return uid;
  }
  if (next_uid_ >= options_.first_uid + options_.uid_count) {
    return makeError(ErrorCode::kTooManyRequests, "No free sandbox user ids on this worker.",
                     "ConcurrentInvocationLimitExceeded");
  }
  return next_uid_++;
}

void LocalWorker::releaseUid(uid_t uid) {
  std::lock_guard lock(uid_mu_);
  free_uids_.push_back(uid);
}

std::vector<std::string> LocalWorker::environmentFor(const EnvironmentSpec& spec,
                                                     const std::string& log_stream,
                                                     const codestore::ImageSettings* image) const {
  // Later layers win: the image's ENV, then Lambda's variables, then the function's own.
  std::map<std::string, std::string> env;
  if (image) {
    for (const std::string& kv : image->env) {
      size_t eq = kv.find('=');
      if (eq != std::string::npos && eq > 0) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  auto set = [&](const char* k, std::string v) { env[k] = std::move(v); };
  // Search paths and the locale an image sets are its own business; zip runtimes get Lambda's.
  auto fallback = [&](const char* k, std::string v) {
    if (image != nullptr && env.count(k) != 0) return;
    env[k] = std::move(v);
  };
  set("_HANDLER", spec.handler);
  set("LAMBDA_TASK_ROOT", "/var/task");
  set("LAMBDA_RUNTIME_DIR", "/var/runtime");
  set("AWS_LAMBDA_RUNTIME_API", kRuntimeApi);
  set("AWS_LAMBDA_FUNCTION_NAME", spec.key.function_name);
  set("AWS_LAMBDA_FUNCTION_VERSION", spec.key.version);
  set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(spec.memory_mb));
  set("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + spec.key.function_name);
  set("AWS_LAMBDA_LOG_STREAM_NAME", log_stream);
  set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  set("AWS_REGION", spec.region);
  set("AWS_DEFAULT_REGION", spec.region);
  if (image == nullptr) set("AWS_EXECUTION_ENV", "AWS_Lambda_" + spec.runtime);
  set("TZ", ":UTC");
  fallback("LANG", "en_US.UTF-8");
  fallback("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin");
  fallback("LD_LIBRARY_PATH", "/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib");
  for (const auto& [k, v] : spec.environment) env[k] = v;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

Result<void> LocalWorker::planImage(const EnvironmentSpec& spec, const codestore::CodeLease& code,
                                    const std::string& log_stream, sandbox::SandboxSpec& s) const {
  if (!code.image()) {
    return makeError(ErrorCode::kSandbox,
                     "function " + spec.key.function_name + ": its code is not a container image");
  }
  const codestore::ImageSettings& image = *code.image();
  std::vector<std::string> command = spec.entry_point.value_or(image.entrypoint);
  const std::vector<std::string>& args = spec.command.value_or(image.cmd);
  command.insert(command.end(), args.begin(), args.end());
  if (command.empty()) {
    return makeError(ErrorCode::kSandbox, "function " + spec.key.function_name +
                                              ": the image has no Entrypoint or Cmd and the "
                                              "function's ImageConfig sets none");
  }
  s.env = environmentFor(spec, log_stream, &image);
  // Like a container runtime, a bare command name is looked up in the image's PATH.
  if (command[0].find('/') == std::string::npos) {
    std::string path;
    for (const std::string& kv : s.env) {
      if (kv.starts_with("PATH=")) path = kv.substr(5);
    }
    command[0] = findInImage(code.path(), path, command[0]);
  }
  s.argv = {kImageInitPath};
  s.argv.insert(s.argv.end(), command.begin(), command.end());
  s.image_root = code.path();
  s.cwd = spec.working_directory.value_or(image.working_dir.empty() ? "/" : image.working_dir);
  s.mounts.push_back({options_.init_binary, kImageInitPath});
  return {};
}

asio::awaitable<Result<std::unique_ptr<Environment>>> LocalWorker::createEnvironment(
    const EnvironmentSpec& spec) {
  Clock::time_point started = Clock::now();
  std::string bootstrap = spec.image ? std::string() : bootstrapFor(spec.runtime);
  if (!spec.image && bootstrap.empty()) {
    co_return makeError(ErrorCode::kInvalidParameter, "unsupported runtime " + spec.runtime);
  }
  Result<uid_t> uid = allocateUid();
  if (!uid) co_return uid.error();

  std::string id = "sb-" + randomHex(8);
  std::string log_stream = formatLogStreamDate(std::chrono::system_clock::now()) + "/[" +
                           spec.key.version + "]" + randomHex(16);
  sandbox::SandboxSpec s;
  s.id = id;
  if (!spec.image) {
    s.argv = {kInitPath, bootstrap};
    s.env = environmentFor(spec, log_stream, nullptr);
    s.mounts.push_back({options_.init_binary, kInitPath});
  }
  if (bootstrap.starts_with("/var/runtime/")) {
    std::string lang = spec.runtime.starts_with("python") ? "python" : "nodejs";
    s.mounts.push_back({options_.runtimes_dir / lang, "/var/runtime"});
  }
  s.memory_bytes = uint64_t{spec.memory_mb} << 20;
  s.tmp_bytes = uint64_t{spec.ephemeral_mb} << 20;
  s.cpus = 0;  // unthrottled until init completes
  s.uid = *uid;
  s.gid = *uid;
  s.work_dir = options_.work_dir / id;

  std::shared_ptr<const codestore::CodeLease> code;
  Result<std::unique_ptr<sandbox::Sandbox>> sandbox = co_await offload(
      blocking_,
      [this, &spec, &s, &code, &log_stream]() -> Result<std::unique_ptr<sandbox::Sandbox>> {
        Result<std::shared_ptr<const codestore::CodeLease>> lease = code_.acquire(spec.code_id);
        if (!lease) {
          return makeError(lease.error().code,
                           "function " + spec.key.function_name + ": " + lease.error().message);
        }
        code = std::move(*lease);
        if (spec.image) {
          HEARTH_TRY(planImage(spec, *code, log_stream, s));
        } else {
          s.mounts.push_back({code->path(), "/var/task"});
        }
        return sandboxes_.create(s);
      });
  if (!sandbox) {
    releaseUid(*uid);
    co_return std::move(sandbox).error();
  }
  asio::any_io_executor io = co_await asio::this_coro::executor;
  co_return std::unique_ptr<Environment>(
      std::make_unique<ProcessEnvironment>(*this, spec, std::move(log_stream), std::move(code),
                                           std::move(*sandbox), *uid, io, blocking_, started));
}

}  // namespace hearth::worker
