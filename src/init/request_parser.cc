// See request_parser.h. Beast does the HTTP parsing (chunked coding, keep-alive, limits); these
// callbacks only copy out the few things the Runtime API routes look at.
#include "init/request_parser.h"

#include <boost/beast/core/string.hpp>

namespace hearth::init {

namespace http = boost::beast::http;

void RuntimeRequest::clear() {
  method = http::verb::unknown;
  target.clear();
  error_type.clear();
  expect_continue = false;
  body.clear();
  body_too_large = false;
}

RequestParser::RequestParser(RuntimeRequest& out) : out_(out) {
  out_.clear();
  // We enforce the payload limit ourselves (count and drop), so Beast must not fail the stream.
  body_limit(boost::none);
  // Stop after the header so the connection can answer `Expect: 100-continue` before the body.
  eager(false);
}

void RequestParser::on_request_impl(http::verb method, string_view, string_view target, int,
                                    error_code&) {
  out_.method = method;
  out_.target.assign(target.data(), target.size());
}

void RequestParser::on_response_impl(int, string_view, int, error_code&) {
  // Never called: this is a request parser (basic_parser<true>).
}

void RequestParser::on_field_impl(http::field name, string_view name_string, string_view value,
                                  error_code&) {
  if (name == http::field::expect) {
    out_.expect_continue = boost::beast::iequals(value, "100-continue");
  } else if (name == http::field::unknown &&
             boost::beast::iequals(name_string, "Lambda-Runtime-Function-Error-Type")) {
    out_.error_type.assign(value.data(), value.size());
  }
}

void RequestParser::on_header_impl(error_code&) {}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
  if (content_length && *content_length > kMaxPayloadBytes) {
    out_.body_too_large = true;
  } else if (content_length) {
    out_.body.reserve(static_cast<size_t>(*content_length));
  }
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
  appendBody(body);
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  appendBody(body);
  return body.size();
}

void RequestParser::on_finish_impl(error_code&) {}

void RequestParser::appendBody(string_view data) {
  body_seen_ += data.size();
  if (body_seen_ > kMaxPayloadBytes) out_.body_too_large = true;
  if (out_.body_too_large) {
    // Drop what was stored: the request is answered with 413 and never forwarded.
    out_.body.clear();
    return;
  }
  out_.body.append(data.data(), data.size());
}

}  // namespace hearth::init
