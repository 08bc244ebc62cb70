// LocalCodeStore: the CodeStore on a local directory, content-addressed by the zip's SHA-256.
//
// Layout (docs/formats/code-store.md):
//   <dir>/LOCK                 flock()ed while a store is open: one process per directory
//   <dir>/zips/<hex>.zip       the upload, byte for byte
//   <dir>/zips/<hex>.json      sidecar {format, sha256, zipped_bytes, unzipped_bytes}; written
//                              last, so code `<hex>` exists exactly when its sidecar does
//   <dir>/trees/<hex>/         the extracted tree, renamed into place only once complete
//   <dir>/tmp/                 work area; emptied at open
// The id of stored code is <hex>, the lowercase hex SHA-256 of the zip.
//
// Crash safety: every file is written beside its final name, fsynced and renamed; a tree is
// extracted in tmp/, synced (syncfs) and renamed whole. So after a crash a final name holds
// complete content or nothing. open() finishes what a crash interrupted: it empties tmp/ and
// removes zips and trees that have no sidecar.
//
// Thread-safety: all methods may be called concurrently. Extraction runs unlocked (in a private
// temporary directory); publishing and removing under one mutex.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "codestore/code_store.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::codestore {

class LocalCodeStore final : public CodeStore {
 public:
  static Result<std::unique_ptr<LocalCodeStore>> open(const std::filesystem::path& dir);

  Result<CodeInfo> put(std::string_view zip) override;
  Result<std::filesystem::path> materialize(const std::string& id) override;
  Result<std::string> readZip(const std::string& id) override;
  // kNotFound if `id` is not stored.
  Result<void> remove(const std::string& id) override;

 private:
  LocalCodeStore(std::filesystem::path dir, UniqueFd lock)
      : dir_(std::move(dir)), lock_(std::move(lock)) {}

  std::filesystem::path zipPath(const std::string& hex) const;
  std::filesystem::path sidecarPath(const std::string& hex) const;
  std::filesystem::path treePath(const std::string& hex) const;

  // Extracts `zip` into a new directory under tmp/, synced to disk. On error nothing is left.
  Result<std::filesystem::path> extractToTemp(std::string_view zip, uint64_t* unzipped_bytes);
  // Renames a complete temporary tree to trees/<hex>, unless one is already there (then the
  // temporary one is removed). REQUIRES: mu_ held.
  Result<void> publishTree(const std::filesystem::path& tmp_tree, const std::string& hex);
  // REQUIRES: mu_ held.
  Result<CodeInfo> readSidecar(const std::string& hex);

  const std::filesystem::path dir_;
  const UniqueFd lock_;  // holds the flock on <dir>/LOCK for the store's lifetime
  // Guards every change to zips/ and trees/ and every existence check that precedes one.
  std::mutex mu_;
};

}  // namespace hearth::codestore
