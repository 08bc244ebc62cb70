#include "client/api_client.h"

#include <charconv>
#include <cstdlib>
#include <fstream>

#include "api/sigv4.h"

namespace hearth::client {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

Result<Credentials> readCredentialsFile(const std::string& path, std::string_view profile) {
  std::ifstream in(path);
  if (!in) return makeError(ErrorCode::kNotFound, "cannot read credentials file " + path);
  Credentials c;
  bool in_profile = false, found = false;
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[' && l.back() == ']') {
      in_profile = trim(l.substr(1, l.size() - 2)) == profile;
      found = found || in_profile;
      continue;
    }
    size_t eq = l.find('=');
    if (!in_profile || eq == std::string_view::npos) continue;
    std::string_view key = trim(l.substr(0, eq));
    std::string_view value = trim(l.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = std::string(value);
    if (key == "aws_secret_access_key") c.secret_access_key = std::string(value);
  }
  if (!found) {
    return makeError(ErrorCode::kNotFound, "no profile [" + std::string(profile) + "] in " + path);
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return makeError(ErrorCode::kInvalidParameter, "profile [" + std::string(profile) + "] in " +
                                                       path +
                                                       " lacks aws_access_key_id or "
                                                       "aws_secret_access_key");
  }
  return c;
}

Result<Credentials> findCredentials(const std::string& data_dir) {
  std::string key = env("AWS_ACCESS_KEY_ID"), secret = env("AWS_SECRET_ACCESS_KEY");
  if (!key.empty() && !secret.empty()) return Credentials{key, secret};
  std::string profile = env("AWS_PROFILE");
  if (!data_dir.empty()) {
    return readCredentialsFile(data_dir + "/credentials", profile.empty() ? "hearth" : profile);
  }
  std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) file = env("HOME") + "/.aws/credentials";
  return readCredentialsFile(file, profile.empty() ? "default" : profile);
}

Result<Endpoint> parseEndpoint(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  const Error bad = makeError(ErrorCode::kInvalidParameter,
                              "the endpoint must be http://HOST[:PORT], got " + std::string(url));
  if (!url.starts_with(kScheme)) return bad;
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  Endpoint e;
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    e.host = std::string(rest);
  } else {
    e.host = std::string(rest.substr(0, colon));
    std::string_view port = rest.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return bad;
    }
    e.port = static_cast<uint16_t>(value);
  }
  if (e.host.empty() || e.host.find('/') != std::string::npos) return bad;
  return e;
}

ApiClient::ApiClient(boost::asio::any_io_executor executor, Endpoint endpoint,
                     Credentials credentials, std::string region)
    : http_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      region_(std::move(region)) {}

boost::asio::awaitable<Result<http::Response>> ApiClient::call(boost::beast::http::verb method,
                                                               std::string target,
                                                               std::string body) {
  if (!http_.isOpen()) {
    Result<void> connected = co_await http_.connect(endpoint_.host, endpoint_.port);
    if (!connected) co_return connected.error();
  }
  http::Request req{method, target, 11};
  req.set(boost::beast::http::field::host, endpoint_.host + ":" + std::to_string(endpoint_.port));
  if (!body.empty()) req.set(boost::beast::http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  api::sigv4::sign(req, credentials_.access_key_id, credentials_.secret_access_key, region_,
                   std::chrono::system_clock::now());
  co_return co_await http_.send(req);
}

}  // namespace hearth::client
