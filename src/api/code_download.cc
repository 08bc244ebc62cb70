// The presigned code download behind GetFunction's Code.Location. Lambda points clients at a
// presigned S3 URL; Hearth serves the zip itself, on an unauthenticated route whose URL carries
// its own proof: Signature = hex(HMAC-SHA256(download_secret, "<code id>\n<expires>")), where
// <expires> is the Unix time after which the URL is refused. Code ids are content hashes that
// reveal nothing, and only ids the service signed are ever looked up.
#include <charconv>
#include <chrono>
#include <string>

#include "api/handlers.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/offload.h"

namespace hearth::api {
namespace {

namespace bhttp = boost::beast::http;

std::string signature(const std::string& secret, std::string_view code_id, int64_t expires) {
  std::string payload(code_id);
  payload += '\n';
  payload += std::to_string(expires);
  return hexEncode(hmacSha256(secret, payload));
}

int64_t epochSeconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Error refused(std::string message) {
  return makeError(ErrorCode::kInvalidSignature, std::move(message));
}

}  // namespace

std::string presignCodeUrl(const ApiService::Deps& deps, std::string_view host,
                           const std::string& code_id, SystemTime now) {
  const int64_t expires = epochSeconds(now + kCodeUrlLifetime);
  std::string url = "http://";
  url += host.empty() ? std::string_view("localhost") : host;
  url += "/hearth/code/";
  url += code_id;
  url += "?Expires=" + std::to_string(expires);
  url += "&Signature=" + signature(deps.download_secret, code_id, expires);
  return url;
}

HandlerResult downloadCode(const ApiService::Deps& deps, const http::QueryParams& query,
                           std::string_view code_id) {
  std::string_view expires_text = query.get("Expires").value_or("");
  std::string_view given = query.get("Signature").value_or("");
  int64_t expires = 0;
  auto [end, ec] =
      std::from_chars(expires_text.data(), expires_text.data() + expires_text.size(), expires);
  if (expires_text.empty() || ec != std::errc() ||
      end != expires_text.data() + expires_text.size() || given.empty()) {
    co_return refused(
        "A presigned code URL needs Expires and Signature: call GetFunction for a "
        "new Code.Location.");
  }
  if (!constantTimeEquals(given, signature(deps.download_secret, code_id, expires))) {
    co_return refused(
        "The request signature we calculated does not match the signature you "
        "provided.");
  }
  if (epochSeconds(std::chrono::system_clock::now()) > expires) {
    co_return refused("Request has expired: call GetFunction for a new Code.Location.");
  }
  const std::string id(code_id);
  Result<std::string> zip = co_await offload(deps.blocking, [&] { return deps.code.readZip(id); });
  if (!zip) {
    if (zip.error().code == ErrorCode::kNotFound) {
      co_return makeError(ErrorCode::kNotFound,
                          "The code was replaced or deleted: call GetFunction for the current "
                          "Code.Location.");
    }
    co_return zip.error();
  }
  http::Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/zip");
  res.body() = std::move(*zip);
  co_return res;
}

}  // namespace hearth::api
