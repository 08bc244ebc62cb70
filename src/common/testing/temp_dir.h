// Test helper: a fresh directory of the test's own under the system temp dir, removed with
// everything in it when the TempDir is destroyed. Header-only; tests include it directly.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hearth::testing {

class TempDir {
 public:
  // Throws if no directory can be made (a test environment failure, reported by gtest). `base`
  // defaults to the system temp dir; /dev/shm gives one on tmpfs.
  explicit TempDir(std::string_view prefix = "hearth", std::filesystem::path base = {}) {
    if (base.empty()) base = std::filesystem::temp_directory_path();
    std::string tmpl = (base / (std::string(prefix) + "-XXXXXX")).string();
    // SAFETY: mkdtemp rewrites the XXXXXX suffix of the writable NUL-terminated buffer in place.
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace hearth::testing
