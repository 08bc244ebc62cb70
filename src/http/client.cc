#include "http/client.h"

#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/check.h"

namespace hearth::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

Error ioError(std::string_view what, const boost::system::error_code& ec) {
  return makeError(ErrorCode::kIo, "http client: " + std::string(what) + ": " + ec.message());
}

}  // namespace

Client::Client(asio::any_io_executor executor, uint64_t body_limit)
    : socket_(std::move(executor)), body_limit_(body_limit) {}

void Client::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  buffer_.clear();
}

asio::awaitable<Result<void>> Client::connect(std::string host, uint16_t port) {
  close();
  tcp::resolver resolver(socket_.get_executor());
  auto [rec, endpoints] = co_await resolver.async_resolve(
      host, std::to_string(port), tcp::resolver::numeric_service, kNoThrow);
  if (rec) co_return ioError("resolve " + host, rec);
  auto [cec, endpoint] = co_await asio::async_connect(socket_, endpoints, kNoThrow);
  if (cec) co_return ioError("connect " + host + ":" + std::to_string(port), cec);
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  co_return Result<void>{};
}

asio::awaitable<Result<Response>> Client::send(Request& req) {
  CHECK(isOpen());
  req.prepare_payload();
  auto [wec, written] = co_await bhttp::async_write(socket_, req, kNoThrow);
  if (wec) {
    close();
    co_return ioError("write", wec);
  }
  for (;;) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(body_limit_);
    if (req.method() == bhttp::verb::head) parser.skip(true);
    auto [rec, read] = co_await bhttp::async_read(socket_, buffer_, parser, kNoThrow);
    if (rec) {
      close();
      co_return ioError("read", rec);
    }
    Response res = parser.release();
    if (bhttp::to_status_class(res.result()) == bhttp::status_class::informational) continue;
    if (!res.keep_alive()) close();
    co_return res;
  }
}

}  // namespace hearth::http
