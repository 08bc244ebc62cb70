// End-to-end tests of the real hearth-init binary: it runs as a child of the test with a
// socketpair on fd 3 (the test plays the worker) and a python3 bootstrap that drives the
// Runtime API the way runtime clients do (one keep-alive connection, chunked bodies, a second
// connection, Expect: 100-continue). Assertions are on the frames init sends.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "channel/frame.h"

extern char** environ;

namespace hearth::init {
namespace {

using namespace std::chrono_literals;
namespace ch = channel;

// The runtime under test. argv[1] selects the start-up mode; each event's "action" what to do.
constexpr const char* kBootstrap = R"PY(#!/usr/bin/env python3
import http.client, json, os, signal, socket, sys, time
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
conn = http.client.HTTPConnection(host, int(port))
def call(method, path, body=None, headers=None, c=None, chunked=False):
    c = c or conn
    c.request(method, "/2018-06-01/runtime/" + path, body=body, headers=headers or {},
              encode_chunked=chunked)
    r = c.getresponse()
    return r.status, r.read().decode(), r.headers
print("runtime starting", flush=True)
if len(sys.argv) > 1 and sys.argv[1] == "init_error":
    st, b, _ = call("POST", "init/error", '{"errorMessage":"no module","errorType":"Runtime.ImportModuleError"}',
                    {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
    print(f"init/error -> {st} {b}", flush=True)
    sys.exit(1)
while True:
    st, body, h = call("GET", "invocation/next")
    rid = h["Lambda-Runtime-Aws-Request-Id"]
    ev = json.loads(body)
    act = ev["action"]
    if act == "echo":
        print("stdout before response", flush=True)
        print("stderr before response", file=sys.stderr, flush=True)
        seen = {k: h.get(k) for k in ["Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Deadline-Ms",
                "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id",
                "Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity", "Content-Type"]}
        seen["event"] = ev
        st, b, _ = call("POST", f"invocation/{rid}/response", json.dumps(seen, sort_keys=True))
        print(f"echo -> {st} {b}", flush=True)
    elif act == "probe":
        out = {}
        out["bad_id"] = call("POST", "invocation/not-the-id/response", "{}")[:2]
        out["unknown_path"] = call("GET", "nope")[0]
        out["wrong_method"] = call("GET", f"invocation/{rid}/response")[0]
        out["init_error_late"] = call("POST", "init/error", "{}")[0]
        st, b, _ = call("POST", f"invocation/{rid}/response", json.dumps(out, sort_keys=True))
        st2, b2, _ = call("POST", f"invocation/{rid}/response", "{}")
        print(f"second response -> {st2} {b2}", flush=True)
    elif act == "error":
        st, b, _ = call("POST", f"invocation/{rid}/error", '{"errorMessage":"boom"}',
                        {"Lambda-Runtime-Function-Error-Type": "Function.MyError"})
        print(f"error -> {st} {b}", flush=True)
    elif act == "error_noheader":
        call("POST", f"invocation/{rid}/error", '{"errorMessage":"plain"}')
    elif act == "big":
        st, b, _ = call("POST", f"invocation/{rid}/response", "x" * (7 << 20))
        print(f"big -> {st} {b}", flush=True)
    elif act == "big_chunked":
        st, b, _ = call("POST", f"invocation/{rid}/response", (b"y" * (1 << 20) for _ in range(7)),
                        chunked=True)
        print(f"big_chunked -> {st} {b}", flush=True)
    elif act == "limit":
        call("POST", f"invocation/{rid}/response", "z" * 6291556)
    elif act == "chunked":
        call("POST", f"invocation/{rid}/response", (p.encode() for p in ["part1-", "part2-", "part3"]),
             chunked=True)
    elif act == "newconn":
        other = http.client.HTTPConnection(host, int(port))
        call("POST", f"invocation/{rid}/response", '"via second connection"', c=other)
    elif act == "expect":
        s = socket.create_connection((host, int(port)))
        data = b'{"via":"expect"}'
        s.sendall(f"POST /2018-06-01/runtime/invocation/{rid}/response HTTP/1.1\r\nHost: x\r\n"
                  f"Content-Length: {len(data)}\r\nExpect: 100-continue\r\n\r\n".encode())
        first = s.recv(1000).decode()
        s.sendall(data)
        print("expect -> " + first.split("\r\n")[0] + " / " + s.recv(1000).decode().split("\r\n")[0], flush=True)
    elif act == "orphan":
        r, w = os.pipe()
        if os.fork() == 0:
            gpid = os.fork()
            if gpid == 0:
                os.read(r, 1)  # exits once its parent is gone and the test releases it
                os._exit(0)
            os.write(w, str(gpid).encode().ljust(16))
            os._exit(0)
        gpid = int(os.read(r, 16).decode())
        os.wait()
        os.write(w, b"x")  # the grandchild, now an orphan, exits
        call("POST", f"invocation/{rid}/response", json.dumps({"orphan": gpid}))
    elif act == "crash":
        print("about to crash", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    elif act == "exit":
        print("bye", flush=True)
        sys.exit(3)
)PY";

std::string binDir() {
  const char* dir = std::getenv("HEARTH_BIN_DIR");
  return dir != nullptr ? dir : "build/bin";
}

uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  // SAFETY: sockaddr_in is the AF_INET sockaddr; sizes match.
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

long vmRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// Logs, by stream, collected while waiting for a non-Log frame.
struct Logs {
  std::string out;
  std::string err;
};

class HearthInit {
 public:
  explicit HearthInit(std::vector<std::string> bootstrap_args = {}) {
    dir_ = std::filesystem::temp_directory_path() /
           ("hearth-init-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    const std::string bootstrap = (dir_ / "bootstrap").string();
    std::ofstream(bootstrap) << kBootstrap;
    std::filesystem::permissions(bootstrap, std::filesystem::perms::owner_all);

    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    worker_fd_ = sv[0];
    api_ = "127.0.0.1:" + std::to_string(freePort());

    std::vector<std::string> args = {binDir() + "/hearth-init", bootstrap};
    for (auto& a : bootstrap_args) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store = {"AWS_LAMBDA_RUNTIME_API=" + api_};
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).rfind("AWS_LAMBDA_RUNTIME_API=", 0) != 0) env_store.push_back(*e);
    }
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    EXPECT_EQ(::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data()), 0)
        << argv[0];
    posix_spawn_file_actions_destroy(&fa);
    ::close(sv[1]);
  }

  ~HearthInit() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (worker_fd_ >= 0) ::close(worker_fd_);
    std::filesystem::remove_all(dir_);
  }

  pid_t pid() const { return pid_; }

  void send(const ch::Frame& f) {
    std::string out;
    ch::encode(f, out);
    size_t off = 0;
    while (off < out.size()) {
      const ssize_t n = ::write(worker_fd_, out.data() + off, out.size() - off);
      ASSERT_GT(n, 0);
      off += static_cast<size_t>(n);
    }
  }

  void invoke(const std::string& id, const std::string& payload, std::string client_context = "",
              std::string cognito = "") {
    ch::Invoke inv;
    inv.request_id = id;
    inv.deadline_ms = 1700000000123ull;
    inv.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
    inv.trace_id = "Root=1-abc;Sampled=1";
    inv.client_context = std::move(client_context);
    inv.cognito_identity = std::move(cognito);
    inv.payload = payload;
    send(inv);
  }

  // The next frame, or nullopt on timeout / EOF / corrupt stream.
  std::optional<ch::Frame> next(std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto f = decoder_.next()) return f;
      if (decoder_.failed()) return std::nullopt;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{worker_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::read(worker_fd_, buf, sizeof(buf));
      if (n <= 0) return std::nullopt;
      decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }

  // Collects Log frames until a frame of type T arrives; fails the test on any other frame.
  template <typename T>
  T expect(Logs* logs = nullptr) {
    for (;;) {
      auto f = next();
      if (!f) {
        ADD_FAILURE() << "no frame of the expected type";
        return T{};
      }
      if (auto* log = std::get_if<ch::Log>(&*f)) {
        if (logs != nullptr) {
          (log->stream == ch::LogStream::kStdout ? logs->out : logs->err) += log->data;
        }
        continue;
      }
      if (auto* t = std::get_if<T>(&*f)) return std::move(*t);
      ADD_FAILURE() << "unexpected frame, variant index " << f->index();
      return T{};
    }
  }

  void closeChannel() {
    ::close(worker_fd_);
    worker_fd_ = -1;
  }

  // Waits for init to exit; returns its wait status, or -1 on timeout.
  int waitExit(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      ::usleep(2000);
    }
    return -1;
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  int worker_fd_ = -1;
  pid_t pid_ = -1;
  std::string api_;
  ch::Decoder decoder_;
};

bool isZombieOrGone(pid_t pid, bool* gone) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) {
    *gone = true;
    return true;
  }
  *gone = false;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] == 'Z';
}

TEST(HearthInit, ServesInvokesInOrderWithLogsBeforeTheResponse) {
  HearthInit init;
  // Sent before the runtime asks: init must hold it until the first GET /next.
  init.invoke("id-1", R"({"action":"echo","n":1})", R"({"custom":{"a":"b"}})",
              R"({"cognitoIdentityId":"c1"})");
  Logs logs;
  init.expect<ch::Ready>(&logs);
  EXPECT_EQ(logs.out, "runtime starting\n");

  logs = {};
  ch::Response r = init.expect<ch::Response>(&logs);
  EXPECT_EQ(r.request_id, "id-1");
  EXPECT_EQ(logs.out, "stdout before response\n");
  EXPECT_EQ(logs.err, "stderr before response\n");
  EXPECT_EQ(r.payload,
            R"({"Content-Type": "application/json", )"
            R"("Lambda-Runtime-Aws-Request-Id": "id-1", )"
            R"("Lambda-Runtime-Client-Context": "{\"custom\":{\"a\":\"b\"}}", )"
            R"("Lambda-Runtime-Cognito-Identity": "{\"cognitoIdentityId\":\"c1\"}", )"
            R"("Lambda-Runtime-Deadline-Ms": "1700000000123", )"
            R"("Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:f", )"
            R"("Lambda-Runtime-Trace-Id": "Root=1-abc;Sampled=1", )"
            R"("event": {"action": "echo", "n": 1}})");

  // Idle with a parked GET /next: the footprint the worker pays per warm sandbox.
  ::usleep(20000);
  const long rss_kb = vmRssKb(init.pid());
  std::printf("hearth-init VmRSS while idle with a waiting runtime: %ld kB\n", rss_kb);
  RecordProperty("idle_vmrss_kb", std::to_string(rss_kb));
  EXPECT_GT(rss_kb, 0);
#ifndef __SANITIZE_ADDRESS__
  // The static production binary's budget. An ASan build (dynamic, with shadow memory) says
  // nothing about it; the plain build of `make test` checks it.
  EXPECT_LT(rss_kb, 2048);
#endif

  // Stray signals do not end init (PID 1 semantics, also when it is not PID 1).
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE}) ASSERT_EQ(::kill(init.pid(), sig), 0);

  init.invoke("id-2", R"({"action":"chunked"})");
  logs = {};
  r = init.expect<ch::Response>(&logs);
  EXPECT_EQ(logs.out, "echo -> 202 {\"status\":\"OK\"}\n");  // the previous invoke's last line
  EXPECT_EQ(r.request_id, "id-2");
  EXPECT_EQ(r.payload, "part1-part2-part3");

  init.invoke("id-3", R"({"action":"newconn"})");
  r = init.expect<ch::Response>();
  EXPECT_EQ(r.request_id, "id-3");
  EXPECT_EQ(r.payload, R"("via second connection")");

  init.invoke("id-4", R"({"action":"expect"})");
  r = init.expect<ch::Response>();
  EXPECT_EQ(r.payload, R"({"via":"expect"})");

  // Exactly at Lambda's limit is still a response.
  init.invoke("id-5", R"({"action":"limit"})");
  logs = {};
  r = init.expect<ch::Response>(&logs);
  EXPECT_EQ(logs.out, "expect -> HTTP/1.1 100 Continue / HTTP/1.1 202 Accepted\n");
  EXPECT_EQ(r.payload.size(), 6291556u);
  ::usleep(20000);
  std::printf("hearth-init VmRSS idle after a 6 MB response: %ld kB\n", vmRssKb(init.pid()));

  init.invoke("id-6", R"({"action":"exit"})");
  logs = {};
  ch::Exit e = init.expect<ch::Exit>(&logs);
  EXPECT_EQ(logs.out, "bye\n");
  EXPECT_EQ(e.kind, ch::ExitKind::kExited);
  EXPECT_EQ(e.status, 3);
  const int status = init.waitExit();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(HearthInit, RejectsBadRequestsAndReportsFunctionErrors) {
  HearthInit init;
  init.expect<ch::Ready>();

  init.invoke("id-p", R"({"action":"probe"})");
  ch::Response r = init.expect<ch::Response>();
  EXPECT_EQ(r.request_id, "id-p");
  EXPECT_EQ(r.payload,
            R"({"bad_id": [400, "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}"], )"
            R"("init_error_late": 403, "unknown_path": 404, "wrong_method": 405})");

  init.invoke("id-e", R"({"action":"error"})");
  Logs logs;
  ch::FunctionError err = init.expect<ch::FunctionError>(&logs);
  EXPECT_EQ(logs.out,
            "second response -> 403 "
            "{\"errorMessage\":\"Invalid state transition\",\"errorType\":\"InvalidStateTransition\"}\n");
  EXPECT_EQ(err.request_id, "id-e");
  EXPECT_EQ(err.error_type, "Function.MyError");
  EXPECT_EQ(err.payload, R"({"errorMessage":"boom"})");

  init.invoke("id-n", R"({"action":"error_noheader"})");
  err = init.expect<ch::FunctionError>();
  EXPECT_EQ(err.request_id, "id-n");
  EXPECT_EQ(err.error_type, "");
  EXPECT_EQ(err.payload, R"({"errorMessage":"plain"})");

  const std::string too_large =
      R"({"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"})";
  init.invoke("id-b", R"({"action":"big"})");
  err = init.expect<ch::FunctionError>();
  EXPECT_EQ(err.request_id, "id-b");
  EXPECT_EQ(err.error_type, "Function.ResponseSizeTooLarge");
  EXPECT_EQ(err.payload, too_large);

  init.invoke("id-c", R"({"action":"big_chunked"})");
  logs = {};
  err = init.expect<ch::FunctionError>(&logs);
  EXPECT_NE(logs.out.find("big -> 413 "), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("\"errorType\":\"RequestEntityTooLarge\""), std::string::npos);
  EXPECT_EQ(err.request_id, "id-c");
  EXPECT_EQ(err.payload, too_large);

  // The keep-alive connection survives the 413s: the runtime carries on.
  init.invoke("id-o", R"({"action":"orphan"})");
  logs = {};
  r = init.expect<ch::Response>(&logs);
  EXPECT_NE(logs.out.find("big_chunked -> 413 "), std::string::npos) << logs.out;
  const pid_t orphan = std::stoi(r.payload.substr(r.payload.find(':') + 1));
  // The orphan was reparented to init (PID 1, or subreaper in this test) and must be reaped.
  bool gone = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    isZombieOrGone(orphan, &gone);
    if (gone) break;
    ::usleep(2000);
  }
  EXPECT_TRUE(gone) << "orphan " << orphan << " was not reaped";

  init.invoke("id-k", R"({"action":"crash"})");
  logs = {};
  ch::Exit e = init.expect<ch::Exit>(&logs);
  EXPECT_EQ(logs.out, "about to crash\n");
  EXPECT_EQ(e.kind, ch::ExitKind::kSignaled);
  EXPECT_EQ(e.status, SIGKILL);
  EXPECT_EQ(init.waitExit(), 0);
}

TEST(HearthInit, ReportsInitErrorThenExit) {
  HearthInit init({"init_error"});
  Logs logs;
  ch::InitError ie = init.expect<ch::InitError>(&logs);
  EXPECT_EQ(logs.out, "runtime starting\n");
  EXPECT_EQ(ie.error_type, "Runtime.ImportModuleError");
  EXPECT_EQ(ie.payload, R"({"errorMessage":"no module","errorType":"Runtime.ImportModuleError"})");
  logs = {};
  ch::Exit e = init.expect<ch::Exit>(&logs);
  EXPECT_EQ(logs.out, "init/error -> 202 {\"status\":\"OK\"}\n");
  EXPECT_EQ(e.kind, ch::ExitKind::kExited);
  EXPECT_EQ(e.status, 1);
  EXPECT_EQ(init.waitExit(), 0);
}

TEST(HearthInit, ReportsABootstrapThatCannotRun) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  const std::string bin = binDir() + "/hearth-init";
  std::string missing = "/nonexistent/bootstrap";
  char* argv[] = {const_cast<char*>(bin.c_str()), missing.data(), nullptr};
  std::string env0 = "AWS_LAMBDA_RUNTIME_API=127.0.0.1:" + std::to_string(freePort());
  char* envp[] = {env0.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
  pid_t pid = -1;
  ASSERT_EQ(::posix_spawn(&pid, argv[0], &fa, nullptr, argv, envp), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(sv[1]);

  std::string wire;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(sv[0], buf, sizeof(buf))) > 0) wire.append(buf, static_cast<size_t>(n));
  ::close(sv[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  ch::Decoder d;
  d.feed(wire);
  auto f1 = d.next();
  auto f2 = d.next();
  ASSERT_TRUE(f1 && f2);
  ASSERT_TRUE(std::holds_alternative<ch::InitError>(*f1));
  EXPECT_EQ(std::get<ch::InitError>(*f1).error_type, "Runtime.InvalidEntrypoint");
  ASSERT_TRUE(std::holds_alternative<ch::Exit>(*f2));
  EXPECT_EQ(std::get<ch::Exit>(*f2).status, 127);
  EXPECT_FALSE(d.next());
}

TEST(HearthInit, ExitsAndKillsTheRuntimeWhenTheWorkerGoes) {
  HearthInit init;
  init.expect<ch::Ready>();
  std::ifstream children("/proc/" + std::to_string(init.pid()) + "/task/" +
                         std::to_string(init.pid()) + "/children");
  pid_t runtime = -1;
  ASSERT_TRUE(children >> runtime);
  init.closeChannel();
  const int status = init.waitExit();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  bool gone = false;
  bool dead = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!dead && std::chrono::steady_clock::now() < deadline) {
    dead = isZombieOrGone(runtime, &gone);
    if (!dead) ::usleep(2000);
  }
  EXPECT_TRUE(dead) << "runtime " << runtime << " survived its init";
}

}  // namespace
}  // namespace hearth::init
