// Fuzzes zip extraction (src/codestore/zip_archive.h): CreateFunction and UpdateFunctionCode
// hand the client's archive to extractZip(), which writes it to the host's disk.
//
// Each input is extracted into a fresh directory under $TMPDIR (removed afterwards), with small
// limits. Properties checked:
//   - whatever was written, even by a failed extraction, stays inside the directory: every path
//     below it resolves (std::filesystem::weakly_canonical, following symlinks) inside it;
//   - only regular files, directories and symlinks are created;
//   - after a successful extraction: files are 0644 or 0755, directories 0755, the regular
//     files' sizes add up to ZipStats::unzipped_bytes, which is within the limit.
// Seeds: fuzz/corpus/zip/ (small archives made with `zip`).
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "codestore/zip_archive.h"

namespace {

namespace fs = std::filesystem;
namespace codestore = hearth::codestore;

constexpr codestore::ZipLimits kLimits{.max_unzipped_bytes = 4u << 20, .max_entries = 1000};

void require(bool ok) {
  if (!ok) __builtin_trap();
}

// True if `p` lies at or below `root` (both canonical).
bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *q != *r) return false;
  }
  return true;
}

fs::path makeTempDir() {
  static const fs::path base = fs::temp_directory_path();
  std::string templ = (base / "hearth-zip-fuzz-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) std::abort();  // a host failure, not a finding
  return fs::canonical(templ);
}

void check(const fs::path& root, const hearth::Result<codestore::ZipStats>& result) {
  uint64_t file_bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path& p = it->path();
    const fs::file_status st = it->symlink_status();
    require(fs::is_regular_file(st) || fs::is_directory(st) || fs::is_symlink(st));

    std::error_code resolve_ec;
    const fs::path resolved = fs::weakly_canonical(p, resolve_ec);
    // A resolution error is a symlink loop or an over-long chain: it resolves nowhere.
    if (!resolve_ec) require(inside(root, resolved));

    if (!result) continue;
    const auto perms = st.permissions() & fs::perms::mask;
    if (fs::is_regular_file(st)) {
      require(perms == static_cast<fs::perms>(0644) || perms == static_cast<fs::perms>(0755));
      file_bytes += fs::file_size(p);
    } else if (fs::is_directory(st)) {
      require(perms == static_cast<fs::perms>(0755));
    }
  }
  require(!ec);
  if (result) {
    require(file_bytes == result->unzipped_bytes);
    require(result->unzipped_bytes <= kLimits.max_unzipped_bytes);
    require(result->entries <= kLimits.max_entries);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path root = makeTempDir();
  const std::string_view zip(reinterpret_cast<const char*>(data), size);
  const hearth::Result<codestore::ZipStats> result = codestore::extractZip(zip, root, kLimits);
  check(root, result);
  std::error_code ec;
  fs::remove_all(root, ec);
  if (ec) std::abort();
  return 0;
}
