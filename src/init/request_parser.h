// The HTTP request parser for the Runtime API: Boost.Beast's basic_parser, keeping only what
// the Runtime API routes need (method, target, two headers, the body) in a RuntimeRequest the
// connection reuses, so parsing allocates nothing but the body.
//
// One RequestParser parses one message (Beast parsers are not reusable); construct a new one in
// place (std::optional::emplace) per request. Bodies beyond kMaxPayloadBytes are counted and
// dropped, not stored: the route answers 413 and the connection stays usable.
// Thread-safety: none.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string>

namespace hearth::init {

// Lambda's payload limit for a response (6 MiB + 100 bytes, as the RIE's interop.MaxPayloadSize).
inline constexpr uint64_t kMaxPayloadBytes = 6291556;

struct RuntimeRequest {
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string target;
  std::string error_type;    // Lambda-Runtime-Function-Error-Type, or empty
  bool expect_continue = false;  // Expect: 100-continue
  std::string body;          // empty when body_too_large
  bool body_too_large = false;

  // Empties every field, keeping string capacity for the next request.
  void clear();
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // REQUIRES: `out` outlives the parser. `out` is cleared here.
  explicit RequestParser(RuntimeRequest& out);

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb method, string_view method_str, string_view target,
                       int version, error_code& ec) override;
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  void appendBody(string_view data);

  RuntimeRequest& out_;
  uint64_t body_seen_ = 0;
};

}  // namespace hearth::init
