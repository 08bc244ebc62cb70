#include "api/sigv4.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "http/query.h"

namespace hearth::api::sigv4 {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kService = "lambda";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kContentSha256 = "x-amz-content-sha256";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidSignature, std::move(message));
}

std::string_view digestView(const Sha256Digest& d) {
  // SAFETY: uint8_t and char have the same size and alignment; the view covers exactly the
  // digest's 32 bytes and does not outlive `d` (callers use it within the full expression).
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string hexSha256(std::string_view data) { return hexEncode(digestView(sha256(data))); }

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Appends `value` trimmed, with every run of inner whitespace turned into one space.
void appendTrimAll(std::string& out, std::string_view value) {
  value = trim(value);
  bool in_space = false;
  for (char c : value) {
    if (isSpace(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
}

// RFC 3986 §5.2.4 dot-segment removal plus dropping empty segments, as botocore's
// normalize_url_path(); then percent-encoding with '/' kept.
std::string canonicalUri(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> segments;
  std::string_view rest = path;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(segment);
  }
  std::string normalized;
  normalized.reserve(path.size());
  if (path.front() == '/') normalized.push_back('/');
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) normalized.push_back('/');
    normalized.append(segments[i]);
  }
  if (path.back() == '/' && !segments.empty()) normalized.push_back('/');
  return uriEncode(normalized, /*keep_slash=*/true);
}

// Decodes then re-encodes one query component. A component that is not valid percent-encoding
// is encoded as it stands (its '%' becomes "%25"), the same on both the signing and verifying
// side, so a canonical query always exists.
std::string canonicalQueryComponent(std::string_view raw) {
  std::optional<std::string> decoded = uriDecode(raw);
  return uriEncode(decoded ? std::string_view(*decoded) : raw, /*keep_slash=*/false);
}

std::string canonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto [name, value] : http::splitQuery(query)) {
    pairs.emplace_back(canonicalQueryComponent(name), canonicalQueryComponent(value));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out.append(name).push_back('=');
    out.append(value);
  }
  return out;
}

// METHOD \n URI \n QUERY \n HEADERS \n \n SIGNEDHEADERS \n PAYLOADHASH
std::string canonicalRequest(const http::Request& req, std::string_view signed_headers,
                             std::string_view payload_hash) {
  std::string_view target = req.target();
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);

  std::string out;
  out.reserve(512);
  out.append(req.method_string()).push_back('\n');
  out.append(canonicalUri(path)).push_back('\n');
  out.append(canonicalQuery(query)).push_back('\n');
  std::string_view names = signed_headers;
  while (!names.empty()) {
    size_t semi = names.find(';');
    std::string_view name = names.substr(0, semi);
    names = semi == std::string_view::npos ? std::string_view{} : names.substr(semi + 1);
    out.append(name).push_back(':');
    bool first = true;
    for (auto [it, end] = req.equal_range(name); it != end; ++it) {
      if (!first) out.push_back(',');
      first = false;
      appendTrimAll(out, it->value());
    }
    out.push_back('\n');
  }
  out.push_back('\n');
  out.append(signed_headers).push_back('\n');
  out.append(payload_hash);
  return out;
}

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), "lambda"), "aws4_request").
// Deriving it costs four HMACs — most of a verification — while a client uses the same key for a
// whole day, so each thread keeps the keys it derived. The secret is part of the cache key, so a
// rotated secret never meets a stale key; the cache is dropped whole when it fills up.
Sha256Digest signingKey(std::string_view secret, std::string_view date, std::string_view region) {
  constexpr size_t kMaxCachedKeys = 256;
  thread_local std::unordered_map<std::string, Sha256Digest> cache;
  std::string id;
  id.reserve(date.size() + region.size() + secret.size() + 2);
  id.append(date).append("/").append(region).append("/").append(secret);
  if (auto it = cache.find(id); it != cache.end()) return it->second;

  std::string key = "AWS4";
  key.append(secret);
  Sha256Digest k_date = hmacSha256(key, date);
  Sha256Digest k_region = hmacSha256(digestView(k_date), region);
  Sha256Digest k_service = hmacSha256(digestView(k_region), kService);
  Sha256Digest k_signing = hmacSha256(digestView(k_service), kTerminator);
  if (cache.size() >= kMaxCachedKeys) cache.clear();
  cache.emplace(std::move(id), k_signing);
  return k_signing;
}

// hex(HMAC(kSigning, StringToSign)) for the request signed at `amz_date` in `region`.
std::string computeSignature(std::string_view secret, std::string_view amz_date,
                             std::string_view region, std::string_view canonical_request) {
  std::string_view date = amz_date.substr(0, 8);
  std::string string_to_sign;
  string_to_sign.reserve(160);
  string_to_sign.append(kAlgorithm).push_back('\n');
  string_to_sign.append(amz_date).push_back('\n');
  string_to_sign.append(date).push_back('/');
  string_to_sign.append(region).push_back('/');
  string_to_sign.append(kService).push_back('/');
  string_to_sign.append(kTerminator).push_back('\n');
  string_to_sign.append(hexSha256(canonical_request));
  Sha256Digest k_signing = signingKey(secret, date, region);
  return hexEncode(digestView(hmacSha256(digestView(k_signing), string_to_sign)));
}

// "20261126T193627Z" → time point; nullopt unless exactly that shape and a real date and time.
std::optional<SystemTime> parseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto number = [&](size_t pos, size_t len) -> int {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  tm.tm_year = number(0, 4) - 1900;
  tm.tm_mon = number(4, 2) - 1;
  tm.tm_mday = number(6, 2);
  tm.tm_hour = number(9, 2);
  tm.tm_min = number(11, 2);
  tm.tm_sec = number(13, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 ||
      tm.tm_sec < 0) {
    return std::nullopt;
  }
  SystemTime t = std::chrono::system_clock::from_time_t(timegm(&tm));
  // timegm() normalizes out-of-range fields (month 13, second 61); a real timestamp round-trips.
  if (formatAmzDate(t) != s) return std::nullopt;
  return t;
}

struct Authorization {
  std::string_view access_key_id;
  std::string_view date;
  std::string_view region;
  std::string_view service;
  std::string_view signed_headers;
  std::string_view signature;
};

Result<Authorization> parseAuthorization(std::string_view header) {
  if (header.substr(0, kAlgorithm.size()) != kAlgorithm ||
      (header.size() > kAlgorithm.size() && header[kAlgorithm.size()] != ' ')) {
    return invalid("Unsupported authorization type; only AWS4-HMAC-SHA256 is accepted.");
  }
  std::string_view credential;
  Authorization auth;
  std::string_view rest = header.substr(kAlgorithm.size());
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = part.substr(0, eq);
    std::string_view value = part.substr(eq + 1);
    if (key == "Credential") credential = value;
    if (key == "SignedHeaders") auth.signed_headers = value;
    if (key == "Signature") auth.signature = value;
  }
  for (auto [name, value] :
       {std::pair{"Credential", credential}, std::pair{"SignedHeaders", auth.signed_headers},
        std::pair{"Signature", auth.signature}}) {
    if (value.empty()) {
      return invalid("Authorization header requires '" + std::string(name) +
                     "' parameter. Authorization=" + std::string(header));
    }
  }

  std::string_view scope[5];
  std::string_view c = credential;
  for (size_t i = 0; i < 5; ++i) {
    size_t slash = c.find('/');
    if ((slash == std::string_view::npos) != (i == 4)) {
      return invalid("Credential should be in the form <access key id>/YYYYMMDD/<region>/" +
                     std::string(kService) + "/" + std::string(kTerminator) + ", not '" +
                     std::string(credential) + "'.");
    }
    scope[i] = c.substr(0, slash);
    if (slash != std::string_view::npos) c.remove_prefix(slash + 1);
  }
  auth.access_key_id = scope[0];
  auth.date = scope[1];
  auth.region = scope[2];
  auth.service = scope[3];
  if (scope[4] != kTerminator) {
    return invalid("Credential should be scoped with a valid terminator: '" +
                   std::string(kTerminator) + "', not '" + std::string(scope[4]) + "'.");
  }
  if (auth.access_key_id.empty() || auth.region.empty()) {
    return invalid("Credential should be scoped to a valid access key and region.");
  }
  return auth;
}

bool signsHeader(std::string_view signed_headers, std::string_view name) {
  while (!signed_headers.empty()) {
    size_t semi = signed_headers.find(';');
    if (signed_headers.substr(0, semi) == name) return true;
    if (semi == std::string_view::npos) break;
    signed_headers.remove_prefix(semi + 1);
  }
  return false;
}

bool isHexSha256(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

Result<Caller> verify(const http::Request& req, SystemTime now, const SecretLookup& lookup) {
  auto auth_it = req.find(bhttp::field::authorization);
  if (auth_it == req.end()) {
    return makeError(ErrorCode::kUnrecognizedClient, "Missing Authentication Token");
  }
  Result<Authorization> parsed = parseAuthorization(auth_it->value());
  if (!parsed) return std::move(parsed).error();
  const Authorization& auth = *parsed;

  if (auth.service != kService) {
    return invalid("Credential should be scoped to correct service: '" + std::string(kService) +
                   "'. ");
  }
  if (!signsHeader(auth.signed_headers, "host")) {
    return invalid("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }

  auto date_it = req.find("X-Amz-Date");
  if (date_it == req.end()) {
    return invalid(
        "Authorization header requires existence of an 'X-Amz-Date' header. "
        "Authorization=" +
        std::string(auth_it->value()));
  }
  std::string_view amz_date = date_it->value();
  std::optional<SystemTime> signed_at = parseAmzDate(amz_date);
  if (!signed_at) {
    return invalid(
        "X-Amz-Date must be an ISO-8601 basic timestamp such as 20261126T193627Z, "
        "not '" +
        std::string(amz_date) + "'.");
  }
  if (auth.date != amz_date.substr(0, 8)) {
    return invalid(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
        "date from HTTP: '" +
        std::string(auth.date) + "' != '" + std::string(amz_date.substr(0, 8)) + "', from '" +
        std::string(amz_date) + "'.");
  }
  if (*signed_at < now - kMaxClockSkew) {
    return invalid("Signature expired: " + std::string(amz_date) + " is now earlier than " +
                   formatAmzDate(now - kMaxClockSkew) + " (" + formatAmzDate(now) + " - 15 min.)");
  }
  if (*signed_at > now + kMaxClockSkew) {
    return invalid("Signature not yet current: " + std::string(amz_date) + " is still later than " +
                   formatAmzDate(now + kMaxClockSkew) + " (" + formatAmzDate(now) + " + 15 min.)");
  }

  std::optional<std::string> secret = lookup(auth.access_key_id);
  if (!secret) {
    return makeError(ErrorCode::kUnrecognizedClient,
                     "The security token included in the request is invalid.");
  }

  std::string body_hash;
  std::string_view payload_hash;
  if (auto it = req.find(kContentSha256); it != req.end()) {
    payload_hash = it->value();
    if (payload_hash != kUnsignedPayload) {
      body_hash = hexSha256(req.body());
      if (!isHexSha256(payload_hash) || payload_hash != body_hash) {
        return invalid(
            "The provided 'x-amz-content-sha256' header does not match what was "
            "computed.");
      }
    }
  } else {
    body_hash = hexSha256(req.body());
    payload_hash = body_hash;
  }

  std::string expected = computeSignature(*secret, amz_date, auth.region,
                                          canonicalRequest(req, auth.signed_headers, payload_hash));
  if (!constantTimeEquals(expected, auth.signature))
    return invalid(std::string(kSignatureMismatch));
  return Caller{std::string(auth.access_key_id), std::string(auth.region)};
}

void sign(http::Request& req, std::string_view access_key_id, std::string_view secret,
          std::string_view region, SystemTime now, bool sign_content_sha256) {
  CHECK(req.find(bhttp::field::host) != req.end());
  std::string amz_date = formatAmzDate(now);
  req.erase(bhttp::field::authorization);
  req.set("X-Amz-Date", amz_date);
  if (sign_content_sha256) req.set(kContentSha256, hexSha256(req.body()));

  std::vector<std::string> names;
  for (const auto& field : req) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (name == "host" || name == "content-type" || name.starts_with("x-amz-")) {
      names.push_back(std::move(name));
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signed_headers;
  for (const std::string& name : names) {
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers.append(name);
  }

  auto sha_it = req.find(kContentSha256);
  std::string payload_hash =
      sha_it != req.end() ? std::string(sha_it->value()) : hexSha256(req.body());
  std::string signature = computeSignature(secret, amz_date, region,
                                           canonicalRequest(req, signed_headers, payload_hash));

  std::string authorization(kAlgorithm);
  authorization.append(" Credential=").append(access_key_id);
  authorization.append("/").append(amz_date.substr(0, 8));
  authorization.append("/").append(region);
  authorization.append("/").append(kService);
  authorization.append("/").append(kTerminator);
  authorization.append(", SignedHeaders=").append(signed_headers);
  authorization.append(", Signature=").append(signature);
  req.set(bhttp::field::authorization, authorization);
}

}  // namespace hearth::api::sigv4
