// See http_connection.h.
#include "init/http_connection.h"

#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "init/buffers.h"

namespace hearth::init {

namespace http = boost::beast::http;

HttpConnection::HttpConnection(UniqueFd fd, EventLoop& loop, RuntimeApi& api)
    : fd_(std::move(fd)), loop_(loop), api_(api) {}

HttpConnection::~HttpConnection() { close(); }

void HttpConnection::start() {
  if (!loop_.add(fd_.get(), EPOLLIN | EPOLLRDHUP, this)) {
    fd_.reset();
  }
}

void HttpConnection::onEvent(uint32_t events) {
  if (events & EPOLLOUT) {
    flush();
    if (closed()) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    if (!readAvailable()) return;
  }
  processInput();
}

bool HttpConnection::readAvailable() {
  for (;;) {
    if (in_end_ == in_.size()) {
      processInput();
      if (closed()) return false;
      if (in_end_ == in_.size()) {
        // Full while a request waits for its answer: the runtime pipelined more than a
        // buffer's worth, which no Runtime API client does.
        close();
        return false;
      }
    }
    // SAFETY: reads into the unused tail of in_, bounded by its size.
    const ssize_t n = ::read(fd_.get(), in_.data() + in_end_, in_.size() - in_end_);
    if (n > 0) {
      in_end_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    // EOF or a socket error. A client that half-closed after its request still gets the answer
    // to what it sent, as far as the socket takes it now.
    if (n == 0) processInput();
    close();
    return false;
  }
}

void HttpConnection::processInput() {
  in_process_ = true;
  while (!closed() && !awaiting_reply_ && !close_after_write_) {
    if (!parser_) {
      parser_.emplace(request_);
      continue_sent_ = false;
    }
    if (in_begin_ == in_end_) break;
    boost::beast::error_code ec;
    const size_t used =
        parser_->put(boost::asio::const_buffer(in_.data() + in_begin_, in_end_ - in_begin_), ec);
    in_begin_ += used;
    if (ec && ec != http::error::need_more) {
      fail(ec == http::error::header_limit ? 431 : 400);
      break;
    }
    if (parser_->is_header_done() && request_.expect_continue && !continue_sent_ &&
        !parser_->is_done()) {
      continue_sent_ = true;
      out_.append("HTTP/1.1 100 Continue\r\n\r\n");
      flush();
    }
    if (parser_->is_done()) {
      keep_alive_ = parser_->keep_alive();
      parser_.reset();
      awaiting_reply_ = true;
      api_.onRequest(*this);  // may respond() at once, or park this exchange
      if (request_.body.capacity() > kRetainBytes && !awaiting_reply_) {
        std::string().swap(request_.body);
      }
      continue;
    }
    if (ec == http::error::need_more || used == 0) {
      if (in_begin_ == 0 && in_end_ == in_.size()) {
        fail(431);  // a header line longer than the whole buffer
        break;
      }
      break;
    }
  }
  // Keep unparsed bytes at the front so reads always have room.
  if (in_begin_ > 0) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  in_process_ = false;
}

std::string HttpConnection::takeBody() { return std::move(request_.body); }

void HttpConnection::respond(unsigned status, std::initializer_list<HeaderField> headers,
                             std::string_view body) {
  if (closed()) return;
  awaiting_reply_ = false;
  const boost::beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  char number[24];
  out_.append("HTTP/1.1 ");
  out_.append(number, std::to_chars(number, number + sizeof(number), status).ptr);
  out_.push_back(' ');
  out_.append(reason.data(), reason.size());
  out_.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  out_.append(number, std::to_chars(number, number + sizeof(number), body.size()).ptr);
  out_.append("\r\n");
  for (const HeaderField& h : headers) {
    out_.append(h.name);
    out_.append(": ");
    // Values come from the worker (ids, ARN, trace, JSON contexts). A CR or LF would split the
    // header; in JSON they are only insignificant whitespace, so a space is equivalent.
    for (char c : h.value) out_.push_back(c == '\r' || c == '\n' ? ' ' : c);
    out_.append("\r\n");
  }
  if (!keep_alive_) {
    out_.append("Connection: close\r\n");
    close_after_write_ = true;
  }
  out_.append("\r\n");
  out_.append(body);
  flush();
  // Answered outside processInput() (a parked /next): bytes the runtime already sent wait in
  // in_; EPOLLOUT fires on the next loop round and processInput() picks them up there.
  if (!closed() && !in_process_ && in_end_ > in_begin_) {
    want_out_ = true;
    updateInterest();
  }
}

void HttpConnection::fail(unsigned status) {
  keep_alive_ = false;
  awaiting_reply_ = true;
  respond(status, {}, {});
}

void HttpConnection::flush() {
  while (out_sent_ < out_.size()) {
    // SAFETY: sends bytes within out_; MSG_NOSIGNAL turns a closed peer into EPIPE, not SIGPIPE.
    const ssize_t n =
        ::send(fd_.get(), out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!want_out_) {
        want_out_ = true;
        updateInterest();
      }
      return;
    }
    close();
    return;
  }
  out_sent_ = 0;
  recycle(out_);
  if (close_after_write_) {
    close();
    return;
  }
  if (want_out_) {
    want_out_ = false;
    updateInterest();
  }
}

void HttpConnection::updateInterest() {
  const uint32_t events = EPOLLIN | EPOLLRDHUP | (want_out_ ? EPOLLOUT : 0u);
  if (!loop_.modify(fd_.get(), events, this)) close();
}

void HttpConnection::close() {
  if (closed()) return;
  loop_.remove(fd_.get(), this);
  fd_.reset();
  if (awaiting_reply_) api_.abandon(*this);
  awaiting_reply_ = false;
}

}  // namespace hearth::init
