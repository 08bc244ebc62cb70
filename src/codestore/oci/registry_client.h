// RegistryClient: the pull side of the OCI distribution API (distribution-spec spec.md) for one
// repository of one registry, as blocking calls.
//
// Transport: plain HTTP/1.1 (http::Client) on a private io_context; TLS is not supported yet.
// Connections are kept alive per host:port and reopened once if a kept one turns out closed.
// Every request has a deadline (Options::request_timeout) covering connect, send and the whole
// response; response headers are capped by Beast's parser (8 KiB), bodies by the caller's limit.
//
// Redirects (301, 302, 303, 307, 308) are followed up to kMaxRedirects, to http:// targets only
// (an https:// one is kUnsupported); the Authorization header goes only to the registry itself,
// never to a redirect target elsewhere (blob storage with pre-signed URLs needs none).
//
// Authentication (distribution's token spec and RFC 7617): requests go out anonymous until the
// registry answers 401. Its WWW-Authenticate challenge decides: `Bearer realm=...,service=...,
// scope=...` fetches a token from the realm (http:// only), with Basic credentials if any, and
// sends it as `Authorization: Bearer`; `Basic` sends the credentials. The result is reused for
// later requests; a request answered 401 again after that is refused (kInvalidParameter).
//
// Errors: kInvalidParameter for everything a registry or the network causes (unreachable, timed
// out, missing manifest or blob, refused credentials, unexpected status), with the reason;
// kUnsupported for what Hearth does not speak (https, unknown auth schemes).
//
// Thread-safety: one RegistryClient is used from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "codestore/oci/credentials.h"
#include "codestore/oci/image_reference.h"
#include "common/result.h"

namespace hearth::codestore::oci {

inline constexpr int kMaxRedirects = 5;

class RegistryClient {
 public:
  struct Options {
    std::optional<Credentials> credentials;
    std::chrono::seconds request_timeout{600};
  };

  // What a successful GET returned.
  struct Fetched {
    std::string body;
    std::string content_type;           // as sent, may be empty
    std::string docker_content_digest;  // the Docker-Content-Digest header, may be empty
  };

  // `ref` names the registry and repository; its tag and digest are not used here.
  RegistryClient(ImageReference ref, Options options);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // GET /v2/<repository>/manifests/<reference> (a tag or a digest), accepting every manifest
  // type of manifest.h. A body over `max_bytes` fails. 404: kInvalidParameter "Source image
  // <image> does not exist. Provide a valid source image."
  Result<Fetched> getManifest(std::string_view reference, uint64_t max_bytes);

  // GET /v2/<repository>/blobs/<digest>, following redirects. A body over `max_bytes` fails.
  // `what` names the blob in errors ("layer 2").
  Result<Fetched> getBlob(std::string_view digest, uint64_t max_bytes, std::string_view what);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::codestore::oci
