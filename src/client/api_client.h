// The client side of Hearth's API for the `hearth` command: where the daemon is, whose keys to
// sign with, and one signed request at a time over a keep-alive connection.
//
// Credentials are found as the AWS CLI finds them, so one setup serves both tools:
//   1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY;
//   2. the profile AWS_PROFILE (else "default", or "hearth" when reading a data dir's file) of
//      the shared credentials file AWS_SHARED_CREDENTIALS_FILE (else ~/.aws/credentials), or of
//      <data-dir>/credentials when a data dir is given (hearthd writes the root keys there).
//
// Thread-safety: not thread-safe; one ApiClient per coroutine, on the executor it was made with.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/client.h"
#include "http/message.h"

namespace hearth::client {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

// Reads the [profile] section of an AWS shared credentials file. kNotFound if the file or the
// profile does not exist; kInvalidParameter if the profile lacks either key.
Result<Credentials> readCredentialsFile(const std::string& path, std::string_view profile);

// The environment first, then the file (see above). `data_dir` empty: no data dir given.
Result<Credentials> findCredentials(const std::string& data_dir);

struct Endpoint {
  std::string host;
  uint16_t port = 80;
};

// "http://host:port" (the port defaulting to 80). kInvalidParameter otherwise: Hearth's API is
// plain HTTP on a trusted network or loopback.
Result<Endpoint> parseEndpoint(std::string_view url);

class ApiClient {
 public:
  ApiClient(boost::asio::any_io_executor executor, Endpoint endpoint, Credentials credentials,
            std::string region);

  // Sends `method target` with `body` (JSON when non-empty), SigV4-signed, connecting first if
  // needed. Returns the response whatever its status; kIo if the daemon cannot be reached.
  boost::asio::awaitable<Result<http::Response>> call(boost::beast::http::verb method,
                                                      std::string target, std::string body = {});

 private:
  http::Client http_;
  Endpoint endpoint_;
  Credentials credentials_;
  std::string region_;
};

}  // namespace hearth::client
