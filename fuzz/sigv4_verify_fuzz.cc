// Fuzzes SigV4 verification (src/api/sigv4.h): every API request reaches verify() before
// anything else looks at it, with a method, target, headers and body chosen by the client.
//
// The first input byte picks a mode:
//   - raw: the Authorization and X-Amz-Date headers are fuzzer bytes. verify() must return,
//     never crash.
//   - signed: the request is signed with sign() at the fixed time, then optionally one part is
//     replaced by fuzzer bytes (Authorization, X-Amz-Date, body, a header). This reaches the
//     canonical-request and HMAC code that a random Authorization header cannot. When nothing
//     was replaced and the request is one an HTTP parser could deliver (token header names,
//     no control characters in values), verify() must accept it: sign() and verify() agree.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

#include "api/sigv4.h"
#include "http/message.h"

namespace {

namespace bhttp = boost::beast::http;
namespace sigv4 = hearth::api::sigv4;

constexpr std::string_view kAccessKey = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kRegion = "us-east-1";
// 2024-01-02T03:04:05Z: a fixed "now", so a run is reproducible.
const hearth::SystemTime kNow{std::chrono::seconds{1704164645}};
// Beast stores header names and values with 16-bit offsets; an HTTP parser delivers far less.
constexpr size_t kMaxField = 4096;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

// RFC 9110 tchar: what an HTTP parser accepts in a header name.
bool isTchar(unsigned char c) {
  return std::isalnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Maps arbitrary bytes onto what a parser could deliver: the name as tchars ("x" if empty),
// the value without control characters other than tab.
std::string tokenize(std::string s) {
  for (char& c : s) {
    if (!isTchar(static_cast<unsigned char>(c))) c = 'x';
  }
  return s.empty() ? "x" : s;
}
std::string fieldValue(std::string s) {
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) c = ' ';
  }
  return s;
}
// A request target as a parser delivers it: visible characters and obs-text, no space.
std::string targetChars(std::string s) {
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) c = '/';
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const uint8_t mode = fdp.ConsumeIntegral<uint8_t>();
  const bool sign_first = (mode & 1) != 0;
  const bool sign_content_sha256 = (mode & 2) != 0;
  const uint8_t tamper = (mode >> 2) & 7;      // signed mode: 0 = leave as signed
  const bool raw_values = (mode & 0x20) != 0;  // keep control characters etc. in values

  hearth::http::Request req;
  req.version(11);
  static constexpr bhttp::verb kVerbs[] = {bhttp::verb::get, bhttp::verb::post, bhttp::verb::put,
                                           bhttp::verb::delete_, bhttp::verb::head};
  if (fdp.ConsumeBool()) {
    req.method(fdp.PickValueInArray(kVerbs));
  } else {
    req.method_string(tokenize(fdp.ConsumeRandomLengthString(16)));
  }
  std::string target = fdp.ConsumeRandomLengthString(kMaxField);
  req.target(raw_values ? target : targetChars(std::move(target)));
  req.set(bhttp::field::host, fieldValue(fdp.ConsumeRandomLengthString(64)));

  bool parser_shaped = !raw_values;
  bool sets_content_sha = false;
  const int extra = fdp.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < extra; ++i) {
    std::string name = fdp.ConsumeRandomLengthString(32);
    std::string value = fdp.ConsumeRandomLengthString(kMaxField);
    if (!raw_values) {
      name = tokenize(std::move(name));
      value = fieldValue(std::move(value));
    } else if (name.empty()) {
      name = "x";
    }
    if (iequals(name, "x-amz-content-sha256")) sets_content_sha = true;
    req.insert(name, value);
  }

  std::string authorization;
  std::string amz_date;
  if (!sign_first || tamper == 1) authorization = fdp.ConsumeRandomLengthString(kMaxField);
  if (!sign_first || tamper == 2) amz_date = fdp.ConsumeRandomLengthString(64);
  std::string extra_name;
  std::string extra_value;
  if (sign_first && tamper == 3) {
    extra_name = fdp.ConsumeRandomLengthString(32);
    extra_value = fdp.ConsumeRandomLengthString(kMaxField);
    if (extra_name.empty()) extra_name = "x";
  }
  req.body() = fdp.ConsumeRemainingBytesAsString();

  if (sign_first) {
    sigv4::sign(req, kAccessKey, kSecret, kRegion, kNow, sign_content_sha256);
    switch (tamper) {
      case 1:
        req.set(bhttp::field::authorization, authorization);
        break;
      case 2:
        req.set("X-Amz-Date", amz_date);
        break;
      case 3:
        req.insert(extra_name, extra_value);
        break;
      case 4:
        req.body().push_back('!');
        break;
      case 5:
        req.erase("X-Amz-Date");
        break;
      default:
        break;
    }
  } else {
    req.set(bhttp::field::authorization, authorization);
    req.set("X-Amz-Date", amz_date);
  }

  int lookups = 0;
  const sigv4::SecretLookup lookup =
      [&lookups](std::string_view key) -> std::optional<std::string> {
    ++lookups;
    if (key == kAccessKey) return std::string(kSecret);
    return std::nullopt;
  };
  hearth::Result<sigv4::Caller> caller = sigv4::verify(req, kNow, lookup);
  if (caller) {
    require(caller->access_key_id == kAccessKey);
    require(lookups == 1);
  }
  if (sign_first && (tamper == 0 || tamper >= 6) && parser_shaped && !sets_content_sha) {
    require(caller.ok());
    require(caller->region == kRegion);
  }
  // The body is covered by the signature (no UNSIGNED-PAYLOAD here), and the date is required.
  if (sign_first && (tamper == 4 || tamper == 5) && !sets_content_sha) require(!caller.ok());
  return 0;
}
