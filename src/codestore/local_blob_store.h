// LocalBlobStore: a BlobStore on a local directory (docs/formats/code-store.md, "Blobs").
//
//   <dir>/chunks/<first 2 hex>/<id>   sealed chunks
//   <dir>/manifests/<id>              sealed manifests
//   <dir>/tmp/                        writes in progress; emptied at open
//
// put() writes tmp/<random>, then renames it to its name: a crash leaves a whole blob or none
// under the final name. sync() makes every earlier put durable with one syncfs() of the store's
// filesystem (the data and the renames), which is far cheaper than an fsync per chunk.
// Ids are lowercase hex (the code store's); anything else is refused (kInvalidParameter).
#pragma once

#include <filesystem>
#include <memory>

#include "codestore/blob_store.h"
#include "common/unique_fd.h"

namespace hearth::codestore {

class LocalBlobStore final : public BlobStore {
 public:
  static Result<std::unique_ptr<LocalBlobStore>> open(const std::filesystem::path& dir);

  Result<void> put(BlobKind kind, const std::string& id, std::string_view data) override;
  Result<void> sync() override;
  Result<std::string> get(BlobKind kind, const std::string& id) override;
  Result<void> remove(BlobKind kind, const std::string& id) override;
  Result<std::vector<std::string>> list(BlobKind kind) override;

 private:
  LocalBlobStore(std::filesystem::path dir, UniqueFd dir_fd)
      : dir_(std::move(dir)), dir_fd_(std::move(dir_fd)) {}
  Result<std::filesystem::path> pathOf(BlobKind kind, const std::string& id) const;

  const std::filesystem::path dir_;
  const UniqueFd dir_fd_;  // for syncfs()
};

}  // namespace hearth::codestore
