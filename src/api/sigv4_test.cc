// SigV4 against botocore's own signatures, sign→verify round trips, and every way a request can
// fail verification.
#include "api/sigv4.h"

#include <chrono>
#include <initializer_list>
#include <span>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "common/encoding.h"

namespace hearth::api::sigv4 {
namespace {

namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

constexpr std::string_view kAccessKey = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kAmzDate = "20261126T193627Z";

// 2026-11-26T19:36:27Z, the time every vector below was signed at.
const SystemTime kSignedAt =
    std::chrono::sys_days{std::chrono::year{2026} / 11 / 26} + 19h + 36min + 27s;

std::optional<std::string> lookupSecret(std::string_view access_key_id) {
  if (access_key_id == kAccessKey) return std::string(kSecret);
  return std::nullopt;
}

// A request as produced by botocore's SigV4Auth. The Authorization values below were computed by
// botocore itself (1.29.27 from Debian's python3-botocore, and 1.43.11 gives identical output):
// for each case, an AWSRequest(method, url, headers, data) with
// Credentials('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY') and
// SigV4Auth(creds, 'lambda', region); request.context['timestamp'] = '20261126T193627Z' (what
// add_auth() takes from the clock), then its own _modify_request_before_signing(),
// canonical_request(), string_to_sign(), signature() and _inject_signature_to_request(). The Host
// header is botocore's _host_from_url(url). Nothing is mocked.
struct BotocoreVector {
  const char* name;
  bhttp::verb method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // except X-Amz-Date, Authorization
  std::string body;
  std::string region;
  std::string authorization;
  bool sign_reproduces;  // sign() signs the same header set (host, content-type, x-amz-*)
};

const std::vector<BotocoreVector>& botocoreVectors() {
  static const std::vector<BotocoreVector> kVectors = {
      {"ListFunctionsTrailingSlash", bhttp::verb::get, "/2015-03-31/functions/",
       {{"Host", "127.0.0.1:9000"}, {"User-Agent", "aws-cli/2.9.19"}}, "", "us-east-1",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/lambda/aws4_request, "
       "SignedHeaders=host;x-amz-date, "
       "Signature=484942b1fa3e2865ab6fff7a037f685da60af926533aac4124ee41f77b27e066",
       true},
      {"EncodedArnAndQualifier", bhttp::verb::get,
       "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
       "configuration?Qualifier=%24LATEST",
       {{"Host", "127.0.0.1:9000"}}, "", "us-east-1",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/lambda/aws4_request, "
       "SignedHeaders=host;x-amz-date, "
       "Signature=eea9a7f41a321d9e944c57cd810901d71cf80d603a9080266b55e7219a2dd39c",
       true},
      {"UnsortedEncodedQuery", bhttp::verb::get,
       "/2015-03-31/functions?MaxItems=10&Marker=a%2Fb%20c&FunctionVersion=ALL",
       {{"Host", "localhost:9000"}}, "", "eu-west-1",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/eu-west-1/lambda/aws4_request, "
       "SignedHeaders=host;x-amz-date, "
       "Signature=0168f981dce623f8f6002816f29ee1bd5efa286a9a75505665ccec3d0776f792",
       true},
      {"InvokeWithBody", bhttp::verb::post, "/2015-03-31/functions/my-fn/invocations",
       {{"Host", "127.0.0.1:9000"},
        {"X-Amz-Invocation-Type", "RequestResponse"},
        {"X-Amz-Log-Type", "Tail"},
        {"X-Amz-Client-Context", "eyJjdXN0b20iOnsiYSI6MX19"},
        {"User-Agent", "Boto3/1.26.27"}},
       R"({"hello": "world"})", "us-east-1",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/lambda/aws4_request, "
       "SignedHeaders=host;x-amz-client-context;x-amz-date;x-amz-invocation-type;x-amz-log-type, "
       "Signature=15cdb329da7b2f496505eee746c3e040d2cddabc600314fde8fa5a7831c883ff",
       true},
      {"CreateFunctionJson", bhttp::verb::post, "/2015-03-31/functions",
       {{"Host", "127.0.0.1:9000"}, {"Content-Type", "application/json"}},
       R"({"FunctionName":"f","Role":"arn:aws:iam::123456789012:role/r"})", "us-east-1",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/lambda/aws4_request, "
       "SignedHeaders=content-type;host;x-amz-date, "
       "Signature=52a35a4fa3f827f4df60abbeaa2268fb20515fbc11156f1ca88d9191aa6087c5",
       true},
      // Shaped like the JS SDK v3: signs x-amz-content-sha256, content-length and amz-sdk-*;
      // amz-sdk-request has an inner double space and a trailing space to collapse and trim.
      {"JsSdkStyle", bhttp::verb::post, "/2015-03-31/functions/my-fn/invocations",
       {{"Host", "127.0.0.1:9000"},
        {"content-type", "application/octet-stream"},
        {"content-length", "13"},
        {"x-amz-content-sha256", "0e216d9676ddeb9d9371510a33cb789b5ab0efaf96386107048fcb67941f509a"},
        {"amz-sdk-invocation-id", "5b8c3d7e-1f2a-4b6c-9d0e-7a8b9c0d1e2f"},
        {"amz-sdk-request", "attempt=1;  max=3 "},
        {"x-amz-user-agent", "aws-sdk-js/3.1164.0"},
        {"user-agent", "aws-sdk-js/3.1164.0 ua/2.1"}},
       "{\"js\":\"v3\"}\n\n", "us-west-2",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/lambda/aws4_request, "
       "SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;"
       "x-amz-content-sha256;x-amz-date;x-amz-user-agent, "
       "Signature=ecd8e5b4d318bbd9b81c0bad0470555a058011c427ceee0bf2850c71e4d189f3",
       false},
  };
  return kVectors;
}

http::Request unsignedRequest(const BotocoreVector& v) {
  http::Request req{v.method, v.target, 11};
  for (const auto& [name, value] : v.headers) req.insert(name, value);
  req.body() = v.body;
  return req;
}

http::Request botocoreRequest(const BotocoreVector& v) {
  http::Request req = unsignedRequest(v);
  req.set("X-Amz-Date", kAmzDate);
  req.set(bhttp::field::authorization, v.authorization);
  return req;
}

TEST(SigV4Test, VerifiesBotocoreSignatures) {
  for (const BotocoreVector& v : botocoreVectors()) {
    SCOPED_TRACE(v.name);
    Result<Caller> caller = verify(botocoreRequest(v), kSignedAt, lookupSecret);
    ASSERT_TRUE(caller.ok()) << caller.error().toString();
    EXPECT_EQ(caller->access_key_id, kAccessKey);
    EXPECT_EQ(caller->region, v.region);
  }
}

TEST(SigV4Test, SignsExactlyAsBotocore) {
  for (const BotocoreVector& v : botocoreVectors()) {
    if (!v.sign_reproduces) continue;
    SCOPED_TRACE(v.name);
    http::Request req = unsignedRequest(v);
    sign(req, kAccessKey, kSecret, v.region, kSignedAt);
    EXPECT_EQ(req["X-Amz-Date"], kAmzDate);
    EXPECT_EQ(req[bhttp::field::authorization], v.authorization);
  }
}

TEST(SigV4Test, JsSdkVectorHashMatchesItsBody) {
  // The vector's x-amz-content-sha256 must really be the body's hash for the test above to mean
  // anything; the generator computed it with hashlib.
  const BotocoreVector& js = botocoreVectors().back();
  Sha256Digest digest = sha256(js.body);
  EXPECT_EQ(hexEncode(std::span<const unsigned char>(digest)), js.headers[3].second);
}

TEST(SigV4Test, SignThenVerifyRoundTrips) {
  for (bool content_sha : {false, true}) {
    SCOPED_TRACE(content_sha ? "with x-amz-content-sha256" : "body hashed");
    http::Request req{bhttp::verb::post,
                      "/2015-03-31/functions/a%3Ab/invocations?Qualifier=live&x=a+b&empty=", 11};
    req.set(bhttp::field::host, "hearth.local:9000");
    req.set("X-Amz-Invocation-Type", "Event");
    req.set(bhttp::field::content_type, "application/json");
    req.body() = R"({"n": 1})";
    req.prepare_payload();
    sign(req, kAccessKey, kSecret, "ap-south-1", kSignedAt, content_sha);
    EXPECT_EQ(req.find("x-amz-content-sha256") != req.end(), content_sha);

    // Anywhere inside the allowed skew.
    for (auto now : {kSignedAt, kSignedAt + 14min, kSignedAt - 14min}) {
      Result<Caller> caller = verify(req, now, lookupSecret);
      ASSERT_TRUE(caller.ok()) << caller.error().toString();
      EXPECT_EQ(caller->region, "ap-south-1");
    }
    // Re-signing replaces the old signature rather than stacking a second one.
    sign(req, kAccessKey, kSecret, "ap-south-1", kSignedAt + 1s, content_sha);
    EXPECT_EQ(req.count(bhttp::field::authorization), 1u);
    EXPECT_TRUE(verify(req, kSignedAt, lookupSecret).ok());
  }
}

void expectRejected(const http::Request& req, ErrorCode code, std::string_view message_part,
                    SystemTime now = kSignedAt) {
  Result<Caller> r = verify(req, now, lookupSecret);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, code) << r.error().toString();
  EXPECT_NE(r.error().message.find(message_part), std::string::npos) << r.error().message;
}

constexpr std::string_view kMismatch = "The request signature we calculated does not match";

TEST(SigV4Test, RejectsTamperedRequests) {
  const BotocoreVector& invoke = botocoreVectors()[3];
  const BotocoreVector& js = botocoreVectors()[5];

  http::Request body = botocoreRequest(invoke);
  body.body() = R"({"hello": "world!"})";
  expectRejected(body, ErrorCode::kInvalidSignature, kMismatch);

  http::Request js_body = botocoreRequest(js);
  js_body.body() = "{\"js\":\"v4\"}\n\n";
  expectRejected(js_body, ErrorCode::kInvalidSignature, "x-amz-content-sha256");

  http::Request header = botocoreRequest(invoke);
  header.set("X-Amz-Log-Type", "None");
  expectRejected(header, ErrorCode::kInvalidSignature, kMismatch);

  http::Request extra_value = botocoreRequest(invoke);
  extra_value.insert("X-Amz-Log-Type", "None");  // a second value joins the first with ','
  expectRejected(extra_value, ErrorCode::kInvalidSignature, kMismatch);

  http::Request query = botocoreRequest(botocoreVectors()[1]);
  query.target("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3A"
               "my-fn/configuration?Qualifier=1");
  expectRejected(query, ErrorCode::kInvalidSignature, kMismatch);

  http::Request path = botocoreRequest(invoke);
  path.target("/2015-03-31/functions/other-fn/invocations");
  expectRejected(path, ErrorCode::kInvalidSignature, kMismatch);

  http::Request method = botocoreRequest(invoke);
  method.method(bhttp::verb::put);
  expectRejected(method, ErrorCode::kInvalidSignature, kMismatch);

  http::Request time = botocoreRequest(invoke);
  time.set("X-Amz-Date", "20261126T193628Z");  // same day, one second later
  expectRejected(time, ErrorCode::kInvalidSignature, kMismatch);

  http::Request day = botocoreRequest(invoke);
  day.set("X-Amz-Date", "20261127T193627Z");
  expectRejected(day, ErrorCode::kInvalidSignature,
                 "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                 "from HTTP: '20261126' != '20261127'",
                 kSignedAt + 24h);

  http::Request secret = unsignedRequest(invoke);
  sign(secret, kAccessKey, "not-the-secret", "us-east-1", kSignedAt);
  expectRejected(secret, ErrorCode::kInvalidSignature, kMismatch);
}

TEST(SigV4Test, RejectsStaleAndFutureDates) {
  http::Request req = botocoreRequest(botocoreVectors()[0]);
  expectRejected(req, ErrorCode::kInvalidSignature,
                 "Signature expired: 20261126T193627Z is now earlier than 20261126T193628Z "
                 "(20261126T195128Z - 15 min.)",
                 kSignedAt + 15min + 1s);
  expectRejected(req, ErrorCode::kInvalidSignature,
                 "Signature not yet current: 20261126T193627Z is still later than "
                 "20261126T193626Z (20261126T192126Z + 15 min.)",
                 kSignedAt - 15min - 1s);
  EXPECT_TRUE(verify(req, kSignedAt + 15min, lookupSecret).ok());

  for (const char* bad : {"20261126T193627", "2026-11-26T19:36:27Z", "20261326T193627Z",
                          "20261126T246027Z", "2026112xT193627Z"}) {
    http::Request malformed = botocoreRequest(botocoreVectors()[0]);
    malformed.set("X-Amz-Date", bad);
    expectRejected(malformed, ErrorCode::kInvalidSignature, "X-Amz-Date must be", kSignedAt);
  }
  http::Request missing = botocoreRequest(botocoreVectors()[0]);
  missing.erase("X-Amz-Date");
  expectRejected(missing, ErrorCode::kInvalidSignature, "'X-Amz-Date' header");
}

TEST(SigV4Test, RejectsWrongCredentialsAndMalformedAuthorization) {
  const BotocoreVector& v = botocoreVectors()[0];
  auto withAuthorization = [&](std::string value) {
    http::Request req = botocoreRequest(v);
    req.set(bhttp::field::authorization, value);
    return req;
  };
  auto replaced = [&](std::string_view from, std::string_view to) {
    std::string a = v.authorization;
    a.replace(a.find(from), from.size(), to);
    return withAuthorization(a);
  };

  expectRejected(replaced("AKIDEXAMPLE", "AKIDUNKNOWN"), ErrorCode::kUnrecognizedClient,
                 "The security token included in the request is invalid.");
  expectRejected(replaced("/lambda/", "/s3/"), ErrorCode::kInvalidSignature,
                 "Credential should be scoped to correct service: 'lambda'.");
  expectRejected(replaced("aws4_request", "aws5_request"), ErrorCode::kInvalidSignature,
                 "valid terminator");
  expectRejected(replaced("/us-east-1", ""), ErrorCode::kInvalidSignature,
                 "Credential should be in the form");
  expectRejected(replaced("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date"),
                 ErrorCode::kInvalidSignature, "'Host' must be a 'SignedHeader'");
  expectRejected(replaced(", Signature=", ", Sig="), ErrorCode::kInvalidSignature,
                 "requires 'Signature' parameter");
  expectRejected(replaced("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"), ErrorCode::kInvalidSignature,
                 "only AWS4-HMAC-SHA256");
  expectRejected(withAuthorization("Bearer abc"), ErrorCode::kInvalidSignature,
                 "only AWS4-HMAC-SHA256");
  std::string short_signature = v.authorization;
  short_signature.pop_back();
  expectRejected(withAuthorization(short_signature), ErrorCode::kInvalidSignature, kMismatch);

  http::Request none = botocoreRequest(v);
  none.erase(bhttp::field::authorization);
  expectRejected(none, ErrorCode::kUnrecognizedClient, "Missing Authentication Token");
}

}  // namespace
}  // namespace hearth::api::sigv4
