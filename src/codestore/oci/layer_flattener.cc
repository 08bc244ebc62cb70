#include "codestore/oci/layer_flattener.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>

#include "common/log.h"

namespace hearth::codestore::oci {
namespace {

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";
constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";
constexpr size_t kMaxNameInMessage = 200;

std::string shown(std::string_view name) {
  std::string out(name.substr(0, kMaxNameInMessage));
  if (name.size() > kMaxNameInMessage) out += "...";
  return out;
}

// "./a/b/" -> "a/b"; "/" and "./" -> "".
std::string_view normaliseName(std::string_view name) {
  for (;;) {
    if (name.starts_with("./")) {
      name.remove_prefix(2);
    } else if (name.starts_with('/')) {
      name.remove_prefix(1);
    } else {
      break;
    }
  }
  if (name == ".") return {};
  while (name.ends_with('/')) name.remove_suffix(1);
  return name;
}

Error unreadable(std::string_view what, archive* a) {
  const char* why = archive_error_string(a);
  return makeError(ErrorCode::kInvalidParameter,
                   "The " + std::string(what) + " is not a readable tar archive: " +
                       (why != nullptr ? why : "unknown error") + ".");
}

// The current entry's data, read by the sink.
class EntrySource : public FileSource {
 public:
  EntrySource(archive* a, std::string_view what, std::string_view name)
      : archive_(a), what_(what), name_(name) {}

  Result<size_t> read(char* buf, size_t n) override {
    const la_ssize_t got = archive_read_data(archive_, buf, n);
    if (got < 0) {
      const char* why = archive_error_string(archive_);
      return makeError(ErrorCode::kInvalidParameter,
                       "The " + std::string(what_) + " cannot be read at entry '" + shown(name_) +
                           "': " + (why != nullptr ? why : "unknown error") + ".");
    }
    return static_cast<size_t>(got);
  }

 private:
  archive* archive_;
  std::string_view what_;
  std::string_view name_;
};

[[maybe_unused]] const char* typeName(mode_t type) {
  switch (type) {
    case AE_IFCHR:
      return "character device";
    case AE_IFBLK:
      return "block device";
    case AE_IFIFO:
      return "fifo";
    case AE_IFSOCK:
      return "socket";
    default:
      return "entry of unknown type";
  }
}

Result<void> feedEntry(archive* a, archive_entry* entry, std::string_view what, TreeSink& sink,
                       LayerStats& stats) {
  const char* raw_name = archive_entry_pathname(entry);
  if (raw_name == nullptr) {
    return makeError(ErrorCode::kInvalidParameter,
                     "The " + std::string(what) + " has an entry whose name cannot be decoded.");
  }
  const std::string_view name = normaliseName(raw_name);
  const size_t slash = name.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const std::string_view dir =
      slash == std::string_view::npos ? std::string_view() : name.substr(0, slash);

  if (base.starts_with(kWhiteoutPrefix)) {
    if (base == kOpaqueWhiteout) {
      ++stats.whiteouts;
      return sink.clearDirectory(dir);
    }
    if (base.starts_with(kAufsMetaPrefix)) {
      ++stats.skipped;
      LOG_DEBUG("{}: skipping AUFS metadata entry '{}'", what, shown(name));
      return {};
    }
    const std::string_view hidden = base.substr(kWhiteoutPrefix.size());
    if (hidden.empty() || hidden == "." || hidden == "..") {
      return makeError(ErrorCode::kInvalidParameter, "The " + std::string(what) +
                                                         " has a whiteout entry '" + shown(name) +
                                                         "' that names no file.");
    }
    std::string target =
        dir.empty() ? std::string(hidden) : std::string(dir) + "/" + std::string(hidden);
    ++stats.whiteouts;
    return sink.remove(target);
  }

  if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
    return sink.addHardLink(name, normaliseName(link));
  }
  const mode_t type = archive_entry_filetype(entry);
  switch (type) {
    case AE_IFDIR:
      if (name.empty()) return {};  // the layer's root directory itself
      return sink.addDirectory(name);
    case AE_IFREG: {
      EntrySource source(a, what, name);
      return sink.addFile(name, (archive_entry_perm(entry) & 0111) != 0, source);
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      return sink.addSymlink(name, target != nullptr ? target : "");
    }
    default:
      ++stats.skipped;
      LOG_DEBUG("{}: skipping {} '{}'", what, typeName(type), shown(name));
      return {};
  }
}

}  // namespace

Result<LayerStats> flattenLayer(std::string_view blob, std::string_view what, TreeSink& sink) {
  // zstd frames start with 28 b5 2f fd. libarchive could read them, but the media types say
  // what Hearth supports, and a zstd stream under a tar or gzip type is refused the same way.
  if (blob.size() >= 4 && static_cast<unsigned char>(blob[0]) == 0x28 &&
      static_cast<unsigned char>(blob[1]) == 0xb5 && static_cast<unsigned char>(blob[2]) == 0x2f &&
      static_cast<unsigned char>(blob[3]) == 0xfd) {
    return makeError(ErrorCode::kUnsupported, "The " + std::string(what) +
                                                  " is zstd-compressed, which Hearth does not "
                                                  "support; push the image with gzip layers.");
  }
  ArchivePtr a(archive_read_new(), &archive_read_free);
  if (!a) return makeError(ErrorCode::kIo, "archive_read_new: out of memory");
  // Only tar (ustar, pax, GNU), plain or gzip: the layer formats of manifest.h.
  if (archive_read_support_format_tar(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_gzip(a.get()) != ARCHIVE_OK) {
    return makeError(ErrorCode::kInternal,
                     std::string("libarchive tar/gzip support: ") + archive_error_string(a.get()));
  }
  sink.beginLayer();
  LayerStats stats;
  // An empty tar (a layer that only changes metadata) may be zero bytes long; libarchive
  // refuses to open an empty buffer.
  if (blob.empty()) return stats;
  if (archive_read_open_memory(a.get(), blob.data(), blob.size()) != ARCHIVE_OK) {
    return unreadable(what, a.get());
  }
  for (;;) {
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return unreadable(what, a.get());
    ++stats.entries;
    HEARTH_TRY(feedEntry(a.get(), entry, what, sink, stats));
  }
  return stats;
}

}  // namespace hearth::codestore::oci
