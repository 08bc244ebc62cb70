// The HTTP message types every Hearth HTTP component exchanges: Beast requests and responses
// with the whole body held in a std::string.
//
// Kept apart from server.h so that code which only inspects or builds messages (SigV4, the API
// handlers) does not pull in Asio's socket and coroutine machinery.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace hearth::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

}  // namespace hearth::http
