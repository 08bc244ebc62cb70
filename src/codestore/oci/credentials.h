// Registry credentials, and finding them in a Docker client configuration file.
//
// The file is Docker's `config.json`:
//   {"auths": {"registry.example.com:5000": {"auth": "<base64 of user:password>"}}}
// where an entry may instead (or also) carry "username" and "password"; "auth" wins when both
// are present. Keys are matched against the registry exactly, then with a scheme
// ("http://", "https://") and any path ("/v1/", "/v2/") removed, as the Docker client does.
// Credential helpers ("credsStore", "credHelpers") and identity tokens are not supported: a
// registry that only they could serve is a kUnsupported error, never a silent anonymous pull.
//
// Thread-safety: credentialsFor() is reentrant.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

namespace hearth::codestore::oci {

struct Credentials {
  std::string username;
  std::string password;

  bool operator==(const Credentials&) const = default;
};

// The credentials `docker_config` holds for `registry` ("host:port" as in ImageReference), or
// nullopt if it holds none or the file does not exist. kInvalidParameter if the file is not
// valid JSON of that shape or an entry's "auth" is not base64 of "user:password"; kIo if it
// cannot be read.
Result<std::optional<Credentials>> credentialsFor(const std::string& registry,
                                                  const std::filesystem::path& docker_config);

}  // namespace hearth::codestore::oci
