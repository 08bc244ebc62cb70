#include "codestore/oci/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/encoding.h"
#include "common/unique_fd.h"

namespace hearth::codestore::oci {
namespace {

using nlohmann::json;

constexpr size_t kMaxConfigBytes = 1 << 20;

Error malformed(const std::filesystem::path& path, std::string_view why) {
  return makeError(ErrorCode::kInvalidParameter,
                   "Docker config " + path.string() + ": " + std::string(why));
}

// The file's content; nullopt if it does not exist.
Result<std::optional<std::string>> readConfig(const std::filesystem::path& path) {
  // SAFETY: plain open of a path given by the operator; the fd is owned by UniqueFd.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::optional<std::string>();
    return errnoError("opening Docker config " + path.string(), errno);
  }
  std::string data;
  char buf[1 << 14];
  for (;;) {
    // SAFETY: reads at most sizeof(buf) bytes into the local buffer.
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoError("reading Docker config " + path.string(), errno);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxConfigBytes) return malformed(path, "larger than 1 MiB");
  }
  return std::optional<std::string>(std::move(data));
}

// "https://host:port/v1/" -> "host:port".
std::string normaliseKey(std::string_view key) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (key.starts_with(scheme)) {
      key.remove_prefix(scheme.size());
      break;
    }
  }
  return std::string(key.substr(0, key.find('/')));
}

const json* stringField(const json& entry, const char* name) {
  auto it = entry.find(name);
  if (it == entry.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return nullptr;
  }
  return &*it;
}

Result<std::optional<Credentials>> fromEntry(const json& entry, const std::string& key,
                                             const std::filesystem::path& path) {
  if (!entry.is_object()) return malformed(path, "auths." + key + " is not an object");
  if (const json* auth = stringField(entry, "auth")) {
    std::optional<std::string> decoded = base64Decode(auth->get_ref<const std::string&>());
    if (!decoded) return malformed(path, "auths." + key + ".auth is not valid base64");
    const size_t colon = decoded->find(':');
    if (colon == std::string::npos) {
      return malformed(path, "auths." + key + ".auth is not base64 of user:password");
    }
    return std::optional<Credentials>(
        Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)});
  }
  const json* username = stringField(entry, "username");
  const json* password = stringField(entry, "password");
  if (username != nullptr && password != nullptr) {
    return std::optional<Credentials>(
        Credentials{username->get<std::string>(), password->get<std::string>()});
  }
  if (stringField(entry, "identitytoken") != nullptr) {
    return makeError(ErrorCode::kUnsupported, "Docker config " + path.string() + ": auths." + key +
                                                  " holds an identity token, which Hearth does "
                                                  "not support; give an auth or a password");
  }
  return std::optional<Credentials>();
}

}  // namespace

Result<std::optional<Credentials>> credentialsFor(const std::string& registry,
                                                  const std::filesystem::path& docker_config) {
  Result<std::optional<std::string>> text = readConfig(docker_config);
  if (!text) return std::move(text).error();
  if (!text->has_value()) return std::optional<Credentials>();
  const json config = json::parse(**text, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) return malformed(docker_config, "not valid JSON");
  if (!config.is_object()) return malformed(docker_config, "not a JSON object");

  std::optional<Credentials> found;
  if (auto auths = config.find("auths"); auths != config.end()) {
    if (!auths->is_object()) return malformed(docker_config, "auths is not an object");
    // An exact key first, then the normalised forms the Docker client also writes.
    const json* entry = nullptr;
    std::string key;
    if (auto exact = auths->find(registry); exact != auths->end()) {
      entry = &*exact;
      key = registry;
    } else {
      for (auto it = auths->begin(); it != auths->end(); ++it) {
        if (normaliseKey(it.key()) == registry) {
          entry = &it.value();
          key = it.key();
          break;
        }
      }
    }
    if (entry != nullptr) {
      Result<std::optional<Credentials>> creds = fromEntry(*entry, key, docker_config);
      if (!creds) return creds;
      found = std::move(*creds);
    }
  }
  if (found) return found;

  auto helpers = config.find("credHelpers");
  const bool helper_for_registry =
      helpers != config.end() && helpers->is_object() && helpers->contains(registry);
  const bool store = config.contains("credsStore");
  if (helper_for_registry || store) {
    return makeError(ErrorCode::kUnsupported,
                     "Docker config " + docker_config.string() + " defers credentials for " +
                         registry +
                         " to a credential helper (credsStore/credHelpers), which Hearth does "
                         "not run; put them under auths");
  }
  return std::optional<Credentials>();
}

}  // namespace hearth::codestore::oci
