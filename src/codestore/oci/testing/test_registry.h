// A real registry for the OCI tests: Debian's docker-registry on a free loopback port, started
// and fed by tests/oci/oci_layout.py (its CLI), so that C++ and Python tests share one way of
// building image layouts and pushing them (with skopeo, or byte for byte).
//
// The registry runs under `oci_layout.py registry`, which prints its address once GET /v2/
// answers and stops it when its stdin closes: the TestRegistry's destructor closes it, and so
// does the kernel if the test process dies, so no registry outlives its test.
//
// Threading: used from the test's thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::codestore::oci::testing {

// Why the registry tests cannot run on this host (a missing docker-registry, skopeo, htpasswd,
// openssl or python3), or nullopt. Tests GTEST_SKIP() with the reason.
std::optional<std::string> registryUnavailable();

// Runs `python3 tests/oci/oci_layout.py <args...>` to completion; its stdout parsed as JSON.
// kIo with the tool's output if it fails.
Result<nlohmann::json> runLayoutTool(const std::vector<std::string>& args);

// Writes an OCI layout for `spec` (the format of oci_layout.py's module doc) into `dir`, tagged
// `tag`; returns build_layout's description (digests of the manifests, config, layers).
Result<nlohmann::json> buildLayout(const nlohmann::json& spec, const std::filesystem::path& dir,
                                   const std::string& tag);

class TestRegistry {
 public:
  // Starts a registry (within 30 s). `flags` are those of `oci_layout.py registry`:
  // {"--htpasswd", "user:password"} for Basic auth, {"--token-auth", "user:password"} for
  // Bearer tokens from the tool's token service; none for an open registry; "--redirector" adds
  // a front that redirects every GET to the registry (see oci_layout.py's Redirector).
  static Result<std::unique_ptr<TestRegistry>> start(const std::vector<std::string>& flags = {});

  // Stops the registry (closes the tool's stdin) and reaps the tool.
  ~TestRegistry();
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;

  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"
  // The Redirector in front of it ("127.0.0.1:PORT"), if started with "--redirector".
  const std::string& redirector() const { return redirector_; }
  const std::filesystem::path& storage() const { return storage_; }
  // Where the registry keeps the bytes of blob `digest` ("sha256:...").
  std::filesystem::path blobPath(const std::string& digest) const;

  // skopeo copy oci:LAYOUT:TAG docker://ADDRESS/DEST; returns the digest skopeo pushed.
  // `extra` are flags of `oci_layout.py push` ("--all", "--format", "v2s2", "--creds", "u:p").
  Result<std::string> push(const std::filesystem::path& layout, const std::string& tag,
                           const std::string& dest, const std::vector<std::string>& extra = {});
  // The same byte for byte, through the registry API (digests stay build_layout's).
  Result<std::string> upload(const std::filesystem::path& layout, const std::string& tag,
                             const std::string& dest, const std::vector<std::string>& extra = {});

 private:
  TestRegistry() = default;

  pid_t pid_ = -1;
  UniqueFd stdin_;  // the tool serves while this is open
  std::string address_;
  std::string redirector_;
  std::filesystem::path storage_;
};

}  // namespace hearth::codestore::oci::testing
