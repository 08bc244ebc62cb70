// How a blocking call drives the asynchronous http::Client: each HTTP exchange spawns one
// coroutine on the private io_context and runs the context until it completes. A steady_timer
// on the same context closes the connection at the deadline, which fails the pending socket
// operation; the exchange then reports the timeout. Nothing runs on the context between calls.
#include "codestore/oci/registry_client.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "codestore/oci/manifest.h"
#include "common/encoding.h"
#include "http/client.h"
#include "http/message.h"

namespace hearth::codestore::oci {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using nlohmann::json;

// Bodies of redirects, 401s and errors are read with at least this limit, so that a small
// expected body (a 32-byte layer) does not make an ordinary error response fail to parse.
constexpr uint64_t kMinBodyLimit = 64 * 1024;
constexpr uint64_t kMaxTokenResponseBytes = 1 << 20;
constexpr size_t kMaxTokenBytes = 16 * 1024;
constexpr size_t kMaxShown = 200;
constexpr std::string_view kUserAgent = "hearth";

std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, kMaxShown)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  if (s.size() > kMaxShown) out += "...";
  return out;
}

// An http:// URL split for http::Client: host without brackets, port, and request target.
struct Url {
  std::string host;
  uint16_t port = 80;
  std::string target = "/";

  bool ipv6() const { return host.find(':') != std::string::npos; }
  // host[:port] for the Host header (port omitted when 80) and for messages.
  std::string authority() const {
    std::string out = ipv6() ? "[" + host + "]" : host;
    if (port != 80) out += ":" + std::to_string(port);
    return out;
  }
  std::string origin() const {
    return (ipv6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
  std::string str() const { return "http://" + authority() + target; }
};

// "host", "host:port", "[v6]" or "[v6]:port".
Result<Url> parseAuthority(std::string_view authority) {
  Url url;
  std::string_view port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return makeError(ErrorCode::kInvalidParameter,
                       "malformed address '" + shown(authority) + "'");
    }
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (rest.starts_with(':')) port = rest.substr(1);
  } else {
    const size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty() || authority.find('@') != std::string_view::npos) {
    return makeError(ErrorCode::kInvalidParameter, "malformed address '" + shown(authority) + "'");
  }
  if (!port.empty()) {
    uint32_t value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) {
        return makeError(ErrorCode::kInvalidParameter,
                         "malformed port in '" + shown(authority) + "'");
      }
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value == 0 || value > 65535) {
      return makeError(ErrorCode::kInvalidParameter,
                       "port out of range in '" + shown(authority) + "'");
    }
    url.port = static_cast<uint16_t>(value);
  }
  return url;
}

// An absolute http:// URL. https:// is kUnsupported (no TLS yet).
Result<Url> parseHttpUrl(std::string_view text) {
  constexpr std::string_view kHttp = "http://";
  if (text.starts_with("https://")) {
    return makeError(ErrorCode::kUnsupported,
                     "'" + shown(text) + "' needs TLS, which Hearth does not support yet");
  }
  if (!text.starts_with(kHttp)) {
    return makeError(ErrorCode::kInvalidParameter, "'" + shown(text) + "' is not an http:// URL");
  }
  text.remove_prefix(kHttp.size());
  const size_t end = text.find_first_of("/?#");
  Result<Url> url = parseAuthority(text.substr(0, end));
  if (!url) return url;
  if (end != std::string_view::npos) {
    std::string_view target = text.substr(end);
    target = target.substr(0, target.find('#'));
    url->target = target.starts_with('/') ? std::string(target) : "/" + std::string(target);
  }
  return url;
}

// Where a Location header sends a request made to `base`.
Result<Url> resolveLocation(const Url& base, std::string_view location) {
  if (location.starts_with("http://") || location.starts_with("https://")) {
    return parseHttpUrl(location);
  }
  if (location.starts_with("//")) return parseHttpUrl("http:" + std::string(location));
  if (location.find("://") != std::string_view::npos) {
    return makeError(ErrorCode::kInvalidParameter,
                     "redirect to '" + shown(location) + "', which is not an http:// URL");
  }
  Url next = base;
  if (location.starts_with('/')) {
    next.target = std::string(location);
  } else {
    std::string dir = base.target.substr(0, base.target.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    next.target = dir + std::string(location);
  }
  return next;
}

// One challenge of a WWW-Authenticate header (RFC 9110 §11.6.1).
struct Challenge {
  std::string scheme;                         // lowercased
  std::map<std::string, std::string> params;  // names lowercased
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~/=").find(c) != std::string_view::npos;
}

// Parses `Scheme k=v, k="v", Scheme2 ...`: a token followed by '=' is a parameter of the
// current challenge, any other token starts a new one. token68 forms are kept as a parameter
// named "" (Basic and Bearer challenges do not use them).
void parseChallenges(std::string_view header, std::vector<Challenge>& out) {
  size_t i = 0;
  auto skipSpace = [&] {
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t' || header[i] == ',')) ++i;
  };
  for (;;) {
    skipSpace();
    if (i >= header.size()) return;
    size_t start = i;
    while (i < header.size() && isTokenChar(header[i]) && header[i] != '=') ++i;
    std::string_view token = header.substr(start, i - start);
    if (token.empty()) {
      ++i;  // a stray character; skip it
      continue;
    }
    size_t after = i;
    while (after < header.size() && (header[after] == ' ' || header[after] == '\t')) ++after;
    if (after < header.size() && header[after] == '=' && !out.empty()) {
      i = after + 1;
      while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
      std::string value;
      if (i < header.size() && header[i] == '"') {
        for (++i; i < header.size() && header[i] != '"'; ++i) {
          if (header[i] == '\\' && i + 1 < header.size()) ++i;
          value.push_back(header[i]);
        }
        ++i;  // the closing quote
      } else {
        start = i;
        while (i < header.size() && header[i] != ',' && header[i] != ' ') ++i;
        value = std::string(header.substr(start, i - start));
      }
      out.back().params[lower(token)] = std::move(value);
    } else {
      out.push_back(Challenge{lower(token), {}});
    }
  }
}

// The registry's own explanation from a distribution error body ({"errors":[{"code",
// "message"}]}), or "".
std::string registryErrorText(const http::Response& res) {
  const json j = json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return {};
  auto errors = j.find("errors");
  if (errors == j.end() || !errors->is_array() || errors->empty()) return {};
  const json& first = (*errors)[0];
  if (!first.is_object()) return {};
  std::string out;
  if (auto code = first.find("code"); code != first.end() && code->is_string()) {
    out = code->get<std::string>();
  }
  if (auto message = first.find("message"); message != first.end() && message->is_string()) {
    if (!out.empty()) out += ": ";
    out += message->get<std::string>();
  }
  return shown(out);
}

std::string statusText(const http::Response& res) {
  std::string out = "HTTP " + std::to_string(res.result_int());
  if (std::string text = registryErrorText(res); !text.empty()) out += " " + text;
  return out;
}

std::string header(const http::Response& res, std::string_view name) {
  auto it = res.find(name);
  return it == res.end() ? std::string() : std::string(it->value());
}

bool isRedirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

struct RegistryClient::Impl {
  // A kept-alive connection to one host:port.
  struct Connection {
    Connection(asio::io_context& io, const Url& url)
        : client(io.get_executor()), host(url.host), port(url.port) {}
    http::Client client;
    std::string host;
    uint16_t port;
  };

  Impl(ImageReference r, Options o) : ref(std::move(r)), image(ref.str()), options(std::move(o)) {}

  ImageReference ref;
  std::string image;  // ref.str(), for messages
  Options options;
  Url registry;  // the registry's address; target unused
  Error registry_error{ErrorCode::kInternal, "", ""};
  bool registry_ok = false;
  asio::io_context io;
  std::map<std::string, std::unique_ptr<Connection>> connections;  // by Url::origin()
  std::string authorization;    // for requests to the registry itself, once known
  bool last_timed_out = false;  // whether the last exchangeOnce() hit its deadline

  Connection& connectionFor(const Url& url) {
    std::unique_ptr<Connection>& c = connections[url.origin()];
    if (!c) c = std::make_unique<Connection>(io, url);
    return *c;
  }

  // One request and its response on `conn`, within the deadline.
  Result<http::Response> exchangeOnce(Connection& conn, http::Request& req, uint64_t body_limit) {
    conn.client.setBodyLimit(body_limit);
    std::optional<Result<http::Response>> out;
    bool timed_out = false;
    asio::steady_timer timer(io);
    timer.expires_after(options.request_timeout);
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the exchange finished first
      timed_out = true;
      conn.client.close();  // fails the pending socket operation
    });
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<Result<http::Response>> {
          if (!conn.client.isOpen()) {
            Result<void> connected = co_await conn.client.connect(conn.host, conn.port);
            if (!connected) co_return std::move(connected).error();
            if (timed_out) co_return makeError(ErrorCode::kIo, "timed out");
          }
          co_return co_await conn.client.send(req);
        },
        [&](std::exception_ptr e, Result<http::Response> r) {
          timer.cancel();
          if (e) {
            out = Result<http::Response>(
                makeError(ErrorCode::kInternal, "registry client: exception in an HTTP exchange"));
          } else {
            out = std::move(r);
          }
        });
    io.restart();
    io.run();
    last_timed_out = timed_out;
    if (timed_out) {
      conn.client.close();
      return makeError(ErrorCode::kIo, "no complete answer within " +
                                           std::to_string(options.request_timeout.count()) + " s");
    }
    CHECK(out.has_value());
    return std::move(*out);
  }

  Result<http::Response> exchange(Connection& conn, http::Request& req, uint64_t body_limit) {
    // A kept-alive connection the server has closed meanwhile fails on first use; GET is
    // idempotent, so try once more on a fresh one.
    const bool reused = conn.client.isOpen();
    Result<http::Response> res = exchangeOnce(conn, req, body_limit);
    if (!res && reused && !last_timed_out && res.error().code == ErrorCode::kIo &&
        res.error().message.find("body limit") == std::string::npos) {
      conn.client.close();
      res = exchangeOnce(conn, req, body_limit);
    }
    return res;
  }

  // A transport failure talking to `url`, in the words of the caller's request.
  Error transportError(const Url& url, const Error& error, uint64_t limit) {
    // Beast's http::error::body_limit reads "body limit exceeded".
    if (error.message.find("body limit exceeded") != std::string::npos) {
      return makeError(ErrorCode::kInvalidParameter,
                       "The registry's answer to GET " + shown(url.str()) + " for " + image +
                           " is larger than " + std::to_string(limit) + " bytes.");
    }
    return makeError(ErrorCode::kInvalidParameter, "Hearth cannot reach the registry at " +
                                                       url.authority() + " for " + image + ": " +
                                                       error.message + ".");
  }

  Error refused(const http::Response& res) {
    if (!options.credentials && authorization.empty()) {
      return makeError(ErrorCode::kInvalidParameter,
                       "The registry " + ref.registry + " requires credentials for " + image +
                           " and none were given (" + statusText(res) + ").");
    }
    return makeError(ErrorCode::kInvalidParameter,
                     "The registry " + ref.registry + " refused access to " + image + " (" +
                         statusText(res) + "); check the credentials.");
  }

  http::Request newRequest(const Url& url, std::string_view accept) {
    http::Request req{bhttp::verb::get, url.target, 11};
    req.set(bhttp::field::host, url.authority());
    req.set(bhttp::field::user_agent, kUserAgent);
    if (!accept.empty()) req.set(bhttp::field::accept, accept);
    return req;
  }

  std::string basicAuthorization() const {
    return "Basic " +
           base64Encode(options.credentials->username + ":" + options.credentials->password);
  }

  // Fetches a token for a Bearer challenge and makes it the authorization for later requests.
  Result<void> fetchToken(const Challenge& challenge) {
    auto param = [&](const char* name) {
      auto it = challenge.params.find(name);
      return it == challenge.params.end() ? std::string() : it->second;
    };
    const std::string realm = param("realm");
    if (realm.empty()) {
      return makeError(
          ErrorCode::kInvalidParameter,
          "The registry " + ref.registry + " asks for a Bearer token without a realm.");
    }
    Result<Url> url = parseHttpUrl(realm);
    if (!url) {
      return makeError(url.error().code, "The token service of registry " + ref.registry + ": " +
                                             url.error().message + ".");
    }
    std::string scope = param("scope");
    if (scope.empty()) scope = "repository:" + ref.repository + ":pull";
    std::string query;
    if (std::string service = param("service"); !service.empty()) {
      query = "service=" + uriEncode(service, false) + "&";
    }
    query += "scope=" + uriEncode(scope, false);
    url->target += (url->target.find('?') == std::string::npos ? "?" : "&") + query;

    http::Request req = newRequest(*url, "application/json");
    if (options.credentials) req.set(bhttp::field::authorization, basicAuthorization());
    Result<http::Response> res = exchange(connectionFor(*url), req, kMaxTokenResponseBytes);
    if (!res) return transportError(*url, res.error(), kMaxTokenResponseBytes);
    const unsigned status = res->result_int();
    if (status == 401 || status == 403) {
      return makeError(ErrorCode::kInvalidParameter,
                       "The token service of registry " + ref.registry + " refused access to " +
                           image + " (" + statusText(*res) + "); check the credentials.");
    }
    if (status != 200) {
      return makeError(
          ErrorCode::kInvalidParameter,
          "The token service of registry " + ref.registry + " answered " + statusText(*res) + ".");
    }
    const json j = json::parse(res->body(), nullptr, /*allow_exceptions=*/false);
    std::string token;
    if (j.is_object()) {
      for (const char* field : {"token", "access_token"}) {
        auto it = j.find(field);
        if (it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
          token = it->get<std::string>();
          break;
        }
      }
    }
    if (token.empty() || token.size() > kMaxTokenBytes) {
      return makeError(ErrorCode::kInvalidParameter,
                       "The token service of registry " + ref.registry + " sent no usable token.");
    }
    for (char c : token) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
        return makeError(ErrorCode::kInvalidParameter,
                         "The token service of registry " + ref.registry +
                             " sent a token with control characters.");
      }
    }
    authorization = "Bearer " + token;
    return {};
  }

  // Answers a 401 from the registry: decides the authorization for the retry and later requests.
  Result<void> authenticate(const http::Response& res) {
    std::vector<Challenge> challenges;
    for (auto [it, end] = res.equal_range(bhttp::field::www_authenticate); it != end; ++it) {
      parseChallenges(it->value(), challenges);
    }
    for (const Challenge& c : challenges) {
      if (c.scheme == "bearer") return fetchToken(c);
    }
    for (const Challenge& c : challenges) {
      if (c.scheme == "basic") {
        if (!options.credentials) return refused(res);
        authorization = basicAuthorization();
        return {};
      }
    }
    if (challenges.empty()) return refused(res);
    return makeError(ErrorCode::kUnsupported,
                     "The registry " + ref.registry + " asks for authentication scheme '" +
                         shown(challenges.front().scheme) + "'; Hearth supports Basic and Bearer.");
  }

  // GET `target` on the registry, authenticating and following redirects. Returns the final
  // response, whatever its status, except 401/403 (errors) and redirects (followed).
  Result<http::Response> get(std::string target, std::string_view accept, uint64_t max_bytes) {
    if (!registry_ok) return registry_error;
    Url url = registry;
    url.target = target;
    const uint64_t limit = std::max(max_bytes, kMinBodyLimit);
    int redirects = 0;
    bool authenticated_again = false;
    for (;;) {
      const bool to_registry = url.origin() == registry.origin();
      http::Request req = newRequest(url, accept);
      if (to_registry && !authorization.empty()) {
        req.set(bhttp::field::authorization, authorization);
      }
      Result<http::Response> res = exchange(connectionFor(url), req, limit);
      if (!res) return transportError(url, res.error(), limit);
      const unsigned status = res->result_int();
      if (status == 401 && to_registry && !authenticated_again) {
        authenticated_again = true;
        HEARTH_TRY(authenticate(*res));
        continue;
      }
      if (status == 401 || status == 403) return refused(*res);
      if (isRedirect(status)) {
        if (++redirects > kMaxRedirects) {
          return makeError(ErrorCode::kInvalidParameter,
                           "The registry " + ref.registry + " redirected GET " + shown(target) +
                               " more than " + std::to_string(kMaxRedirects) + " times for " +
                               image + ".");
        }
        const std::string location = header(*res, "Location");
        Result<Url> next = resolveLocation(url, location);
        if (!next) {
          return makeError(next.error().code, "The registry " + ref.registry +
                                                  " redirected a request for " + image + ": " +
                                                  next.error().message + ".");
        }
        url = std::move(*next);
        continue;
      }
      if (res->body().size() > max_bytes && status == 200) {
        return makeError(ErrorCode::kInvalidParameter,
                         "The registry's answer to GET " + shown(url.str()) + " for " + image +
                             " is larger than " + std::to_string(max_bytes) + " bytes.");
      }
      return res;
    }
  }

  static Fetched fetched(http::Response& res) {
    Fetched f;
    f.content_type = header(res, "Content-Type");
    f.docker_content_digest = header(res, "Docker-Content-Digest");
    f.body = std::move(res.body());
    return f;
  }
};

RegistryClient::RegistryClient(ImageReference ref, Options options)
    : impl_(std::make_unique<Impl>(std::move(ref), std::move(options))) {
  Result<Url> url = parseAuthority(impl_->ref.registry);
  if (url) {
    impl_->registry = std::move(*url);
    impl_->registry_ok = true;
  } else {
    impl_->registry_error =
        makeError(ErrorCode::kInvalidParameter, "The registry of " + impl_->image +
                                                    " is not valid: " + url.error().message + ".");
  }
}

RegistryClient::~RegistryClient() = default;

Result<RegistryClient::Fetched> RegistryClient::getManifest(std::string_view reference,
                                                            uint64_t max_bytes) {
  const std::string target =
      "/v2/" + impl_->ref.repository + "/manifests/" + std::string(reference);
  Result<http::Response> res = impl_->get(target, media_type::kManifestAccept, max_bytes);
  if (!res) return std::move(res).error();
  if (res->result_int() == 404) {
    return makeError(ErrorCode::kInvalidParameter, "Source image " + impl_->image +
                                                       " does not exist. Provide a valid source "
                                                       "image.");
  }
  if (res->result_int() != 200) {
    return makeError(ErrorCode::kInvalidParameter,
                     "The registry " + impl_->ref.registry + " answered " + statusText(*res) +
                         " to GET " + shown(target) + " for " + impl_->image + ".");
  }
  return Impl::fetched(*res);
}

Result<RegistryClient::Fetched> RegistryClient::getBlob(std::string_view digest, uint64_t max_bytes,
                                                        std::string_view what) {
  const std::string target = "/v2/" + impl_->ref.repository + "/blobs/" + std::string(digest);
  Result<http::Response> res = impl_->get(target, "", max_bytes);
  if (!res) return std::move(res).error();
  if (res->result_int() == 404) {
    return makeError(ErrorCode::kInvalidParameter,
                     "The registry " + impl_->ref.registry + " has no blob " + std::string(digest) +
                         " (" + std::string(what) + " of the source image " + impl_->image + ").");
  }
  if (res->result_int() != 200) {
    return makeError(ErrorCode::kInvalidParameter,
                     "The registry " + impl_->ref.registry + " answered " + statusText(*res) +
                         " to GET " + shown(target) + " (" + std::string(what) + " of " +
                         impl_->image + ").");
  }
  return Impl::fetched(*res);
}

}  // namespace hearth::codestore::oci
