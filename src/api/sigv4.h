// AWS Signature Version 4 for the Lambda API: verifying what the AWS CLI, boto3/botocore and the
// AWS SDKs send, and signing requests the same way (the load generator, tests).
//
// Only the `Authorization: AWS4-HMAC-SHA256 ...` header form is accepted (no presigned query
// strings), with the date in `X-Amz-Date`, for the service `lambda` in any region. The canonical
// request is built as botocore's SigV4Auth builds it (shared/refs/lambda-api.md §3):
//   - URI: the raw wire path with dot segments and empty segments removed, percent-encoded again
//     keeping '/' ("%3A" is signed as "%253A");
//   - query: pairs sorted by name then value, each side RFC 3986-encoded, "k=" for empty values;
//   - headers: the SignedHeaders list, each "name:value" with the value trimmed and inner
//     whitespace runs collapsed, repeated headers joined by ',';
//   - payload: the x-amz-content-sha256 header if present, else hex SHA-256 of the body.
// When x-amz-content-sha256 carries a hash, verify() also checks it against the body, so a signed
// hash protects the body exactly as hashing the body would. "UNSIGNED-PAYLOAD" is accepted as
// AWS accepts it (the body is then not covered by the signature).
//
// Thread-safety: safe to call from any thread; the only state is a per-thread cache of derived
// signing keys (see sigv4.cc). `lookup` is called on the calling thread.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time_format.h"
#include "http/message.h"

namespace hearth::api::sigv4 {

// Requests dated further than this from the server clock, either way, are refused.
inline constexpr std::chrono::minutes kMaxClockSkew{15};

// Who signed a verified request.
struct Caller {
  std::string access_key_id;
  std::string region;  // from the credential scope
};

// The secret access key for an access key id, or nullopt if the key is unknown.
using SecretLookup = std::function<std::optional<std::string>(std::string_view access_key_id)>;

// Verifies the request's signature at time `now`. Errors:
//   kUnrecognizedClient  no Authorization header ("Missing Authentication Token"), or an access
//                        key `lookup` does not know;
//   kInvalidSignature    a malformed Authorization header, a scope for another service, a
//                        missing, malformed or mismatched X-Amz-Date, a date more than
//                        kMaxClockSkew away from `now`, a payload hash that does not match the
//                        body, or a signature that does not match.
// Messages are AWS's wording where AWS has one.
Result<Caller> verify(const http::Request& req, SystemTime now, const SecretLookup& lookup);

// Signs `req` as botocore would: sets X-Amz-Date (and, if sign_content_sha256, the body's
// x-amz-content-sha256, as the JS SDK v3 does), then an Authorization header signing `host`,
// `content-type` (if present) and every `x-amz-*` header present, over the target and body as
// they are now. Replaces any previous signature.
// REQUIRES: req has a Host header; nothing that is signed changes afterwards.
void sign(http::Request& req, std::string_view access_key_id, std::string_view secret,
          std::string_view region, SystemTime now, bool sign_content_sha256 = false);

}  // namespace hearth::api::sigv4
