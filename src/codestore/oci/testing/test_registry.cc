#include "codestore/oci/testing/test_registry.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>

extern char** environ;

namespace hearth::codestore::oci::testing {
namespace {

using nlohmann::json;

constexpr std::chrono::seconds kStartTimeout{30};

std::string python() {
  // Debian's interpreter, as the end-to-end tests use; PATH's otherwise.
  // SAFETY: access() only reads the NUL-terminated constant path.
  return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

std::string toolPath() { return std::string(HEARTH_SOURCE_DIR) + "/tests/oci/oci_layout.py"; }

// A child running the tool with `args`, its stdin and stdout on the given pipe ends (or
// /dev/null for stdin when `stdin_fd` is -1), stderr on `stderr_fd` (or inherited when -1).
Result<pid_t> spawnTool(const std::vector<std::string>& args, int stdin_fd, int stdout_fd,
                        int stderr_fd) {
  std::vector<std::string> argv_strings = {python(), toolPath()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  if (stderr_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
  pid_t pid = -1;
  // SAFETY: argv is a NUL-terminated array of NUL-terminated strings that outlives the call;
  // every descriptor the child keeps is dup2'ed, the rest are O_CLOEXEC.
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return errnoError("posix_spawn " + argv_strings[0], rc);
  return pid;
}

Result<std::pair<UniqueFd, UniqueFd>> makePipe() {
  int fds[2];
  // SAFETY: pipe2 writes two descriptors into the local array, which UniqueFds then own.
  if (::pipe2(fds, O_CLOEXEC) != 0) return errnoError("pipe2", errno);
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

// Reaps our own child `pid`; its exit status, or -1 if it died of a signal.
int reap(pid_t pid) {
  int status = 0;
  // SAFETY: pid is our own, not yet reaped child; waitpid only writes status.
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::optional<std::string> registryUnavailable() {
  Result<json> check = runLayoutTool({"check"});
  if (!check)
    return "cannot run " + toolPath() + " with " + python() + ": " + check.error().message;
  const json& missing = (*check)["missing"];
  if (!missing.is_array() || missing.empty()) return std::nullopt;
  std::string why = "needs";
  for (const json& tool : missing) why += " " + tool.get<std::string>();
  return why + " (Debian packages docker-registry, skopeo, apache2-utils, openssl; " +
         "scripts/install-deps)";
}

Result<json> runLayoutTool(const std::vector<std::string>& args) {
  auto out = makePipe();
  if (!out) return std::move(out).error();
  auto err = makePipe();
  if (!err) return std::move(err).error();
  Result<pid_t> pid = spawnTool(args, -1, out->second.get(), err->second.get());
  if (!pid) return std::move(pid).error();
  out->second.reset();
  err->second.reset();

  // Both pipes drained together, so that neither can fill up and stall the tool.
  std::string stdout_text, stderr_text;
  pollfd fds[2] = {{out->first.get(), POLLIN, 0}, {err->first.get(), POLLIN, 0}};
  std::string* sinks[2] = {&stdout_text, &stderr_text};
  int open_fds = 2;
  while (open_fds > 0) {
    // SAFETY: fds is a local array of two pollfds; a negative fd is ignored by poll.
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return errnoError("poll", errno);
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      // SAFETY: reads at most sizeof(buf) bytes into the local buffer.
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  const int status = reap(*pid);
  if (status != 0) {
    return makeError(ErrorCode::kIo, "oci_layout.py exited with " + std::to_string(status) + ": " +
                                         stdout_text + stderr_text);
  }
  json result = json::parse(stdout_text, nullptr, /*allow_exceptions=*/false);
  if (result.is_discarded()) {
    return makeError(ErrorCode::kIo, "oci_layout.py printed no JSON: " + stdout_text);
  }
  return result;
}

Result<json> buildLayout(const json& spec, const std::filesystem::path& dir,
                         const std::string& tag) {
  std::filesystem::create_directories(dir);
  const std::filesystem::path spec_path = dir.string() + ".spec.json";
  {
    std::ofstream f(spec_path);
    f << spec.dump();
    if (!f) return makeError(ErrorCode::kIo, "cannot write " + spec_path.string());
  }
  return runLayoutTool({"build", spec_path.string(), dir.string(), "--tag", tag});
}

Result<std::unique_ptr<TestRegistry>> TestRegistry::start(const std::vector<std::string>& flags) {
  auto in = makePipe();
  if (!in) return std::move(in).error();
  auto out = makePipe();
  if (!out) return std::move(out).error();
  std::vector<std::string> args = {"registry"};
  args.insert(args.end(), flags.begin(), flags.end());
  Result<pid_t> pid = spawnTool(args, in->first.get(), out->second.get(), -1);
  if (!pid) return std::move(pid).error();
  std::unique_ptr<TestRegistry> registry(new TestRegistry());
  registry->pid_ = *pid;
  registry->stdin_ = std::move(in->second);
  in->first.reset();
  out->second.reset();

  // The tool prints one JSON line once the registry answers GET /v2/.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return makeError(ErrorCode::kIo, "registry did not start in 30 s");
    pollfd fd{out->first.get(), POLLIN, 0};
    // SAFETY: one local pollfd; waits for the tool's output, at most until the deadline.
    const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return errnoError("poll", errno);
    if (ready <= 0) continue;
    char buf[1024];
    // SAFETY: reads at most sizeof(buf) bytes into the local buffer.
    const ssize_t n = ::read(out->first.get(), buf, sizeof(buf));
    if (n == 0) return makeError(ErrorCode::kIo, "oci_layout.py registry exited: " + line);
    if (n > 0) line.append(buf, static_cast<size_t>(n));
  }
  const json info = json::parse(line.substr(0, line.find('\n')), nullptr, false);
  if (!info.is_object() || !info.contains("address") || !info.contains("storage")) {
    return makeError(ErrorCode::kIo, "oci_layout.py registry printed: " + line);
  }
  registry->address_ = info["address"].get<std::string>();
  registry->storage_ = info["storage"].get<std::string>();
  if (info.contains("redirector")) registry->redirector_ = info["redirector"].get<std::string>();
  return registry;
}

TestRegistry::~TestRegistry() {
  stdin_.reset();  // the tool stops the registry when its stdin closes
  if (pid_ > 0) reap(pid_);
}

std::filesystem::path TestRegistry::blobPath(const std::string& digest) const {
  const std::string hex = digest.substr(digest.find(':') + 1);
  return storage_ / "docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
}

Result<std::string> TestRegistry::push(const std::filesystem::path& layout, const std::string& tag,
                                       const std::string& dest,
                                       const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"push", layout.string(), tag, address_ + "/" + dest};
  args.insert(args.end(), extra.begin(), extra.end());
  Result<json> out = runLayoutTool(args);
  if (!out) return std::move(out).error();
  return (*out)["digest"].get<std::string>();
}

Result<std::string> TestRegistry::upload(const std::filesystem::path& layout,
                                         const std::string& tag, const std::string& dest,
                                         const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"upload", layout.string(), tag, address_ + "/" + dest};
  args.insert(args.end(), extra.begin(), extra.end());
  Result<json> out = runLayoutTool(args);
  if (!out) return std::move(out).error();
  return (*out)["digest"].get<std::string>();
}

}  // namespace hearth::codestore::oci::testing
