#include "eventsources/redis/testing/redis_server.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/check.h"
#include "common/unique_fd.h"

namespace hearth::eventsources::redis::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr int kStartAttempts = 3;
constexpr std::chrono::seconds kStartTimeout{10};
constexpr std::chrono::milliseconds kPollInterval{10};
constexpr std::chrono::milliseconds kPingTimeout{1000};

// A loopback port nobody listens on right now (it may be taken again before we use it).
Result<uint16_t> freePort() {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  const tcp::endpoint any(asio::ip::make_address_v4("127.0.0.1"), 0);
  acceptor.open(any.protocol(), ec);
  if (!ec) acceptor.bind(any, ec);
  if (ec) return makeError(ErrorCode::kIo, "bind 127.0.0.1:0: " + ec.message());
  const uint16_t port = acceptor.local_endpoint(ec).port();
  if (ec) return makeError(ErrorCode::kIo, "local_endpoint: " + ec.message());
  return port;
}

// Whether a server on `port` answers PING with PONG.
bool answersPing(uint16_t port) {
  asio::io_context io;
  Client client(io.get_executor());
  bool pong = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        if (!(co_await client.connect("127.0.0.1", port, kPingTimeout))) co_return;
        Result<Reply> reply = co_await client.command(argv("PING"), kPingTimeout);
        pong = reply && reply->kind == Reply::Kind::kStatus && reply->str == "PONG";
      },
      asio::detached);
  io.run();
  return pong;
}

}  // namespace

std::optional<std::string> RedisServer::unavailable() {
  // SAFETY: access() only reads the path, a NUL-terminated constant.
  if (::access(kBinary, X_OK) != 0) {
    return std::string("needs ") + kBinary + " (Debian package redis-server)";
  }
  return std::nullopt;
}

Result<std::unique_ptr<RedisServer>> RedisServer::start() {
  if (std::optional<std::string> why = unavailable()) {
    return makeError(ErrorCode::kUnsupported, *why);
  }
  std::string last_error;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    Result<std::unique_ptr<RedisServer>> server = spawn();
    if (!server) return server;
    if ((*server)->awaitReady()) return server;
    std::ifstream log((*server)->dir_ / "redis.log");
    last_error =
        "redis-server on port " + std::to_string((*server)->port_) +
        " did not answer PING; its log: " + std::string(std::istreambuf_iterator<char>(log), {});
  }
  return makeError(ErrorCode::kIo, last_error);
}

Result<std::unique_ptr<RedisServer>> RedisServer::spawn() {
  std::string dir = std::filesystem::temp_directory_path() / "hearth-redis-XXXXXX";
  // SAFETY: mkdtemp rewrites the XXXXXX of the NUL-terminated buffer it is given in place.
  if (::mkdtemp(dir.data()) == nullptr) return errnoError("mkdtemp", errno);
  // Owns the directory from here on, and the process once there is one.
  std::unique_ptr<RedisServer> server(new RedisServer(dir, -1, 0));
  Result<uint16_t> port = freePort();
  if (!port) return std::move(port).error();
  server->port_ = *port;
  const std::string log = server->dir_ / "redis.log";
  std::vector<std::string> args = {kBinary,
                                   "--port",
                                   std::to_string(*port),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir,
                                   "--logfile",
                                   log,
                                   "--daemonize",
                                   "no"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The child holds none of our output (stdin and stdout on /dev/null, stderr into its log) and
  // dies with us (PR_SET_PDEATHSIG), so a test that crashes leaves no server behind.
  // SAFETY: open and pipe2 only write the returned descriptors, which UniqueFd then owns.
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  int pipe_fds[2];
  if (!null_fd || !log_fd || ::pipe2(pipe_fds, O_CLOEXEC) != 0) return errnoError("open", errno);
  UniqueFd exec_error_read(pipe_fds[0]);
  UniqueFd exec_error_write(pipe_fds[1]);
  const pid_t parent = ::getpid();
  // SAFETY: until execv the child calls only async-signal-safe functions and allocates nothing;
  // everything it uses (argv, the descriptors) was prepared before the fork.
  const pid_t pid = ::fork();
  if (pid < 0) return errnoError("fork", errno);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    if (::dup2(null_fd.get(), 0) >= 0 && ::dup2(null_fd.get(), 1) >= 0 &&
        ::dup2(log_fd.get(), 2) >= 0) {
      ::execv(kBinary, argv.data());
    }
    const int err = errno;
    // SAFETY: writes sizeof(err) bytes from a local int to our own pipe.
    [[maybe_unused]] ssize_t n = ::write(exec_error_write.get(), &err, sizeof(err));
    ::_exit(127);
  }
  server->pid_ = pid;
  exec_error_write.reset();
  int exec_error = 0;
  // SAFETY: reads at most sizeof(exec_error) bytes into it; EOF (0) means execv succeeded.
  if (::read(exec_error_read.get(), &exec_error, sizeof(exec_error)) > 0) {
    server->stop();
    return errnoError("exec " + std::string(kBinary), exec_error);
  }
  return server;
}

bool RedisServer::awaitReady() {
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (answersPing(port_)) return true;
    int status = 0;
    // SAFETY: pid_ is our own child, not yet reaped; WNOHANG never blocks.
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited, e.g. because the port was taken meanwhile
      return false;
    }
    std::this_thread::sleep_for(kPollInterval);  // a bounded poll for readiness
  }
  return false;
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void RedisServer::stop() {
  if (pid_ < 0) return;
  // SAFETY: pid_ is our own child and not yet reaped, so the pid cannot belong to another process.
  ::kill(pid_, SIGTERM);
  int status = 0;
  // SAFETY: as above; waitpid only writes status.
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

struct FakeServer::State {
  explicit State(asio::io_context& io) : acceptor(io), socket(io) {}
  ~State() { redisReaderFree(reader); }

  static asio::awaitable<void> serve(std::shared_ptr<State> s);

  tcp::acceptor acceptor;
  tcp::socket socket;
  std::vector<std::string> replies;
  size_t next_reply = 0;
  std::vector<std::vector<std::string>> requests;
  redisReader* reader = redisReaderCreate();
};

namespace {

// The request's arguments, or nullopt if it is not an array of bulk strings.
std::optional<std::vector<std::string>> arguments(const redisReply& request) {
  if (request.type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<std::string> argv;
  for (size_t i = 0; i < request.elements; ++i) {
    const redisReply& arg = *request.element[i];
    if (arg.type != REDIS_REPLY_STRING) return std::nullopt;
    argv.emplace_back(arg.str, arg.len);
  }
  return argv;
}

}  // namespace

asio::awaitable<void> FakeServer::State::serve(std::shared_ptr<State> s) {
  auto [aec] = co_await s->acceptor.async_accept(s->socket, kNoThrow);
  if (aec) co_return;
  std::array<char, 4096> chunk;
  for (;;) {
    auto [rec, n] = co_await s->socket.async_read_some(asio::buffer(chunk), kNoThrow);
    if (rec) co_return;
    CHECK(redisReaderFeed(s->reader, chunk.data(), n) == REDIS_OK);
    void* parsed = nullptr;
    while (redisReaderGetReply(s->reader, &parsed) == REDIS_OK && parsed != nullptr) {
      // SAFETY: the default reader builds redisReply objects; ours to free.
      std::unique_ptr<redisReply, void (*)(void*)> request(static_cast<redisReply*>(parsed),
                                                           freeReplyObject);
      std::optional<std::vector<std::string>> argv = arguments(*request);
      CHECK(argv.has_value());  // the client under test sent something that is not a command
      s->requests.push_back(std::move(*argv));
      if (s->next_reply == s->replies.size()) continue;  // out of replies: silence
      auto [wec, written] = co_await asio::async_write(
          s->socket, asio::buffer(s->replies[s->next_reply++]), kNoThrow);
      if (wec) co_return;
    }
  }
}

FakeServer::FakeServer(asio::io_context& io, std::vector<std::string> replies)
    : state_(std::make_shared<State>(io)) {
  CHECK(state_->reader != nullptr);
  state_->replies = std::move(replies);
  const tcp::endpoint loopback(asio::ip::make_address_v4("127.0.0.1"), 0);
  boost::system::error_code ec;
  state_->acceptor.open(loopback.protocol(), ec);
  if (!ec) state_->acceptor.bind(loopback, ec);
  if (!ec) state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) port_ = state_->acceptor.local_endpoint(ec).port();
  CHECK(!ec);  // a test host that cannot listen on loopback cannot run these tests
  asio::co_spawn(io, State::serve(state_), asio::detached);
}

FakeServer::~FakeServer() {
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  state_->socket.close(ignored);
}

const std::vector<std::vector<std::string>>& FakeServer::requests() const {
  return state_->requests;
}

bool runCoroutine(asio::io_context& io, std::function<asio::awaitable<void>()> body,
                  std::chrono::seconds limit) {
  bool finished = false;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    finished = true;
    failure = e;
  });
  io.restart();
  io.run_for(limit);
  if (failure) std::rethrow_exception(failure);
  return finished;
}

asio::awaitable<Result<void>> awaitBlockedClients(Client& observer, int count) {
  const std::string wanted = "blocked_clients:" + std::to_string(count) + "\r\n";
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int poll = 0; poll < 10'000; ++poll) {
    Result<Reply> reply = co_await observer.command(argv("INFO", "clients"), kPingTimeout);
    if (!reply) co_return std::move(reply).error();
    if (reply->str.find(wanted) != std::string::npos) co_return Result<void>{};
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(kNoThrow);
  }
  co_return makeError(ErrorCode::kIo, "never saw " + std::to_string(count) + " blocked clients");
}

}  // namespace hearth::eventsources::redis::testing
