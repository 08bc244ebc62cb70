// Zip reading into a TreeSink and writing from a manifest, both with libarchive.
#include "codestore/zip_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace hearth::codestore {
namespace {

constexpr size_t kMaxNameInMessage = 200;
constexpr std::string_view kArchiveWording = "Could not unzip uploaded file";

using ReadArchive = std::unique_ptr<archive, decltype(&archive_read_free)>;
using WriteArchive = std::unique_ptr<archive, decltype(&archive_write_free)>;
using Entry = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

Error couldNotUnzip() { return makeError(ErrorCode::kInvalidZipFile, std::string(kCouldNotUnzip)); }

// A refused entry, worded as the tree builder words its own refusals.
Error badEntry(std::string_view name, std::string_view why) {
  std::string shown(name.substr(0, kMaxNameInMessage));
  if (name.size() > kMaxNameInMessage) shown += "...";
  return makeError(ErrorCode::kInvalidZipFile, std::string(kArchiveWording) + ": entry '" + shown +
                                                   "' " + std::string(why) + ".");
}

// True if `name` (already '/'-separated) names nothing but the root: "./", "/", "".
bool namesRoot(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c == '/' || c == '.'; }) &&
         name.find("..") == std::string_view::npos;
}

// An entry's content as the archive inflates it.
class EntrySource final : public FileSource {
 public:
  EntrySource(archive* a, archive_entry* entry, std::string_view name)
      : archive_(a), entry_(entry), name_(name) {}
  Result<size_t> read(char* buf, size_t n) override {
    la_ssize_t got = archive_read_data(archive_, buf, n);
    if (got < 0) {
      if (archive_entry_is_encrypted(entry_)) return badEntry(name_, "is encrypted");
      return couldNotUnzip();
    }
    return static_cast<size_t>(got);
  }

 private:
  archive* const archive_;
  archive_entry* const entry_;
  const std::string_view name_;
};

Result<void> unpackEntry(archive* a, archive_entry* entry, TreeSink& sink) {
  const char* raw_name = archive_entry_pathname(entry);
  if (raw_name == nullptr) return badEntry("", "has a name that cannot be decoded");
  std::string name = raw_name;
  std::replace(name.begin(), name.end(), '\\', '/');
  if (archive_entry_is_encrypted(entry)) return badEntry(raw_name, "is encrypted");
  if (archive_entry_hardlink(entry) != nullptr) return badEntry(raw_name, "is a hard link");
  if (!name.empty() && name.front() == '/') return badEntry(raw_name, "has an absolute path");
  const mode_t type = archive_entry_filetype(entry);
  switch (type) {
    case AE_IFDIR:
      if (namesRoot(name)) return {};  // the root itself: nothing to add
      return sink.addDirectory(name);
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      return sink.addSymlink(name, target == nullptr ? "" : target);
    }
    case AE_IFREG:
    case AE_IFIFO: {
      EntrySource source(a, entry, raw_name);
      return sink.addFile(name, (archive_entry_perm(entry) & 0111) != 0, source);
    }
    default:
      return badEntry(raw_name, "is not a regular file, directory or symbolic link");
  }
}

la_ssize_t appendToString(archive*, void* client, const void* buf, size_t n) {
  // SAFETY: client is the std::string handed to archive_write_open2 in writeZip(), alive until
  // the archive is closed there; buf holds n bytes.
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

Error writeError(archive* a) {
  const char* why = archive_error_string(a);
  return makeError(ErrorCode::kInternal,
                   std::string("writing a zip: ") + (why ? why : "libarchive failed"));
}

}  // namespace

TreeRules zipTreeRules(uint64_t max_unzipped_bytes, uint64_t max_entries) {
  TreeRules rules;
  rules.symlinks = SymlinkPolicy::kInsideTree;
  rules.replace_allowed = false;
  rules.max_file_bytes = max_unzipped_bytes;
  rules.max_entries = max_entries;
  rules.refusal_code = ErrorCode::kInvalidZipFile;
  rules.archive = std::string(kArchiveWording);
  rules.too_big =
      makeError(ErrorCode::kInvalidParameter, "Unzipped size must be smaller than " +
                                                  std::to_string(max_unzipped_bytes) + " bytes");
  return rules;
}

namespace {

Result<ReadArchive> openZip(std::string_view zip) {
  ReadArchive a(archive_read_new(), &archive_read_free);
  if (!a) return makeError(ErrorCode::kIo, "archive_read_new: out of memory");
  // The seekable reader trusts the central directory, as unzip and Lambda do; the streaming one
  // could be shown local entries the directory does not list.
  if (archive_read_support_format_zip_seekable(a.get()) != ARCHIVE_OK) {
    return makeError(ErrorCode::kInternal,
                     std::string("libarchive zip support: ") + archive_error_string(a.get()));
  }
  if (archive_read_open_memory(a.get(), zip.data(), zip.size()) != ARCHIVE_OK) {
    return couldNotUnzip();
  }
  return a;
}

}  // namespace

Result<void> unpackZip(std::string_view zip, TreeSink& sink, unsigned threads) {
  if (zip.empty()) return couldNotUnzip();
  threads = std::max(threads, 1u);
  sink.beginLayer();
  // Each thread reads the archive on its own and takes entries i with i % threads == its
  // number. The error reported is the one of the lowest failing entry, so it does not depend
  // on timing: every thread goes on until it passes that entry.
  std::mutex mu;
  uint64_t failed_at = UINT64_MAX;  // guarded by mu
  std::optional<Error> failure;     // guarded by mu
  uint64_t entries = 0;             // guarded by mu: how many the archive lists
  auto fail = [&](uint64_t index, Error e) {
    std::lock_guard lock(mu);
    if (index < failed_at) {
      failed_at = index;
      failure = std::move(e);
    }
  };
  auto beyondFailure = [&](uint64_t index) {
    std::lock_guard lock(mu);
    return index > failed_at;
  };
  auto work = [&](unsigned part) {
    Result<ReadArchive> a = openZip(zip);
    if (!a) return fail(0, a.error());
    for (uint64_t i = 0;; ++i) {
      if (beyondFailure(i)) return;
      archive_entry* entry = nullptr;
      int rc = archive_read_next_header(a->get(), &entry);
      if (rc == ARCHIVE_EOF) {
        std::lock_guard lock(mu);
        entries = i;
        return;
      }
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return fail(i, couldNotUnzip());
      if (i % threads != part) continue;
      if (Result<void> r = unpackEntry(a->get(), entry, sink); !r) return fail(i, r.error());
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned part = 1; part < threads; ++part) helpers.emplace_back(work, part);
  work(0);
  for (std::thread& t : helpers) t.join();
  if (failure) return *failure;
  if (entries == 0) return couldNotUnzip();
  return {};
}

Result<std::string> writeZip(const Manifest& m,
                             const std::function<Result<std::string>(const TreeEntry&)>& content) {
  std::string out;
  WriteArchive a(archive_write_new(), &archive_write_free);
  if (!a) return makeError(ErrorCode::kIo, "archive_write_new: out of memory");
  if (archive_write_set_format_zip(a.get()) != ARCHIVE_OK ||
      archive_write_set_options(a.get(), "zip:compression=deflate") != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open2(a.get(), &out, nullptr, appendToString, nullptr, nullptr) != ARCHIVE_OK) {
    return writeError(a.get());
  }
  constexpr time_t kDosEpoch = 315532800;  // 1980-01-01T00:00:00Z, zip's earliest time
  for (const TreeEntry& e : m.entries) {
    Entry entry(archive_entry_new(), &archive_entry_free);
    if (!entry) return makeError(ErrorCode::kIo, "archive_entry_new: out of memory");
    std::string name = e.path;
    if (e.type == EntryType::kDirectory) name.push_back('/');
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_mtime(entry.get(), kDosEpoch, 0);
    std::string data;
    switch (e.type) {
      case EntryType::kDirectory:
        archive_entry_set_filetype(entry.get(), AE_IFDIR);
        archive_entry_set_perm(entry.get(), 0755);
        break;
      case EntryType::kSymlink:
        archive_entry_set_filetype(entry.get(), AE_IFLNK);
        archive_entry_set_perm(entry.get(), 0777);
        archive_entry_set_symlink(entry.get(), e.target.c_str());
        break;
      case EntryType::kFile: {
        Result<std::string> bytes = content(e);
        if (!bytes) return bytes.error();
        data = std::move(*bytes);
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), e.executable ? 0755 : 0644);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
        break;
      }
    }
    if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) return writeError(a.get());
    if (!data.empty() && archive_write_data(a.get(), data.data(), data.size()) !=
                             static_cast<la_ssize_t>(data.size())) {
      return writeError(a.get());
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return writeError(a.get());
  return out;
}

}  // namespace hearth::codestore
