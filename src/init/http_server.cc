// See http_server.h.
#include "init/http_server.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>

namespace hearth::init {

Result<sockaddr_in> parseListenAddress(std::string_view host_port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string_view::npos) {
    return makeError(ErrorCode::kInvalidParameter,
                     "runtime API address must be host:port: " + std::string(host_port));
  }
  const std::string host(host_port.substr(0, colon));
  const std::string_view port_text = host_port.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return makeError(ErrorCode::kInvalidParameter,
                     "bad port in runtime API address: " + std::string(host_port));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  // SAFETY: host is NUL-terminated; sin_addr is a valid in_addr to write.
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return makeError(ErrorCode::kInvalidParameter,
                     "runtime API host must be a numeric IPv4 address: " + std::string(host_port));
  }
  return addr;
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const sockaddr_in& address, EventLoop& loop,
                                                      RuntimeApi& api) {
  // SAFETY: plain syscall; the fd is owned by the UniqueFd below.
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errnoError("socket", errno);
  const int one = 1;
  // SAFETY: option value is a live int of the size passed.
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return errnoError("setsockopt SO_REUSEADDR", errno);
  }
  // SAFETY: sockaddr_in is the sockaddr for AF_INET; the length matches it.
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return errnoError("bind runtime API address", errno);
  }
  if (::listen(fd.get(), 64) != 0) return errnoError("listen", errno);
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(fd), loop, api));
  HEARTH_TRY(loop.add(server->fd_.get(), EPOLLIN, server.get()));
  return server;
}

void HttpServer::onEvent(uint32_t) {
  for (;;) {
    // SAFETY: accept4 with no peer address; the new fd is owned by a UniqueFd at once.
    UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!conn) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: drained; EMFILE and the like: try again on the next event
    }
    sweep();
    if (connections_.size() >= kMaxConnections) continue;  // closes `conn`
    const int one = 1;
    // SAFETY: option value is a live int of the size passed. Small responses must not wait for
    // Nagle; failure only costs latency.
    ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_unique<HttpConnection>(std::move(conn), loop_, api_);
    c->start();
    connections_.push_back(std::move(c));
  }
}

void HttpServer::sweep() {
  std::erase_if(connections_, [](const std::unique_ptr<HttpConnection>& c) { return c->closed(); });
}

}  // namespace hearth::init
