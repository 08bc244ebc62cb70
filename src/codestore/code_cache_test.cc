// The host's code cache: trees built on tmpfs from verified chunks, files shared by hard link
// within a scope and never across, eviction that spares trees in use.
#include "codestore/code_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "codestore/chunked_code_store.h"
#include "codestore/testing/memory_chunks.h"
#include "codestore/testing/zip_builder.h"
#include "common/testing/temp_dir.h"

namespace hearth::codestore {
namespace {

namespace fs = std::filesystem;
using testing::ZipBuilder;

std::string zipWith(const std::string& handler, uint32_t lib_seed = 1) {
  return ZipBuilder()
      .file("handler.py", handler)
      .file("bin/tool", "#!/bin/sh\necho hi\n", 0755)
      .file("lib/big.so", testing::pseudoRandom(700 << 10, lib_seed))
      .symlink("lib/alias.so", "big.so")
      .dir("empty/")
      .build();
}

ino_t inode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_ino;
}

mode_t mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode;
}

std::string readText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class CodeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CodeStoreOptions options;
    options.dir = data_.path() / "code";
    options.keyring = data_.path() / "keyring";
    auto s = ChunkedCodeStore::open(options);
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
  }
  std::unique_ptr<CodeCache> openCache(uint64_t file_budget = uint64_t{1} << 30) {
    CodeCacheOptions o;
    o.dir = shm_.path() / "cache";
    o.file_cache_bytes = file_budget;
    auto c = CodeCache::open(*store_, o);
    EXPECT_TRUE(c.ok()) << c.error().toString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  std::string put(const std::string& account, const std::string& zip) {
    Result<CodeInfo> info = store_->put(account, zip);
    EXPECT_TRUE(info.ok()) << info.error().toString();
    return info.ok() ? info->id : "";
  }

  hearth::testing::TempDir data_{"hearth-cache-data"};
  hearth::testing::TempDir shm_{"hearth-cache", "/dev/shm"};
  std::unique_ptr<ChunkedCodeStore> store_;
};

TEST_F(CodeCacheTest, BuildsTheTreeReadableByAnyone) {
  auto cache = openCache();
  const std::string id = put("111111111111", zipWith("v1"));
  Result<std::shared_ptr<const CodeLease>> lease = cache->acquire(id);
  ASSERT_TRUE(lease.ok()) << lease.error().toString();
  const fs::path& root = (*lease)->path();
  EXPECT_EQ(readText(root / "handler.py"), "v1");
  EXPECT_EQ(readText(root / "lib/big.so"), testing::pseudoRandom(700 << 10, 1));
  EXPECT_EQ(fs::read_symlink(root / "lib/alias.so"), "big.so");
  EXPECT_EQ(mode(root) & 07777, 0755u);
  EXPECT_EQ(mode(root / "empty") & 07777, 0755u);
  EXPECT_EQ(mode(root / "handler.py") & 07777, 0644u);
  EXPECT_EQ(mode(root / "bin/tool") & 07777, 0755u);
  // A second acquire is the same tree, not a rebuild.
  Result<std::shared_ptr<const CodeLease>> again = cache->acquire(id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->path(), root);
  EXPECT_EQ(cache->stats().files_written, 3u);
  // Somewhere else than tmpfs is refused: decrypted code must not reach a disk.
  CodeCacheOptions on_disk;
  on_disk.dir = data_.path() / "cache";
  Result<std::unique_ptr<CodeCache>> refused = CodeCache::open(*store_, on_disk);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("tmpfs"), std::string::npos);
}

TEST_F(CodeCacheTest, NewVersionsLinkUnchangedFilesAndScopesNeverShare) {
  auto cache = openCache();
  const std::string v1 = put("111111111111", zipWith("v1"));
  const std::string v2 = put("111111111111", zipWith("v2"));
  const std::string other = put("444444444444", zipWith("v1"));
  auto l1 = cache->acquire(v1);
  auto l2 = cache->acquire(v2);
  auto lo = cache->acquire(other);
  ASSERT_TRUE(l1.ok() && l2.ok() && lo.ok());
  const fs::path a = (*l1)->path(), b = (*l2)->path(), c = (*lo)->path();
  EXPECT_EQ(inode(a / "lib/big.so"), inode(b / "lib/big.so"));
  EXPECT_EQ(inode(a / "bin/tool"), inode(b / "bin/tool"));
  EXPECT_NE(inode(a / "handler.py"), inode(b / "handler.py"));
  // Same bytes in another account: its own files.
  EXPECT_NE(inode(a / "lib/big.so"), inode(c / "lib/big.so"));
  EXPECT_EQ(readText(c / "handler.py"), "v1");
  CodeCacheStats st = cache->stats();
  EXPECT_EQ(st.files_linked, 2u);
  EXPECT_EQ(st.files_written, 3u + 1u + 3u);
}

TEST_F(CodeCacheTest, EvictsUnusedTreesButNeverOneInUse) {
  auto cache = openCache(/*file_budget=*/1 << 20);  // room for one big library
  const std::string v1 = put("111111111111", zipWith("v1", 1));
  const std::string v2 = put("111111111111", zipWith("v2", 2));
  auto held = cache->acquire(v1);
  ASSERT_TRUE(held.ok());
  const fs::path p1 = (*held)->path();
  {
    auto l2 = cache->acquire(v2);
    ASSERT_TRUE(l2.ok());
    EXPECT_TRUE(fs::exists(p1 / "lib/big.so"));  // over budget, but leased
  }
  // v2's lease ended: the next build evicts it, and v1 (held) stays.
  const std::string v3 = put("111111111111", zipWith("v3", 3));
  auto l3 = cache->acquire(v3);
  ASSERT_TRUE(l3.ok());
  EXPECT_TRUE(fs::exists(p1 / "lib/big.so"));
  EXPECT_FALSE(fs::exists(shm_.path() / "cache" / "trees" / v2));
  // Evicted trees come back when asked for.
  auto back = cache->acquire(v2);
  ASSERT_TRUE(back.ok()) << back.error().toString();
  EXPECT_EQ(readText((*back)->path() / "handler.py"), "v2");
}

TEST_F(CodeCacheTest, ATamperedChunkIsCorruptAndBuildsNothing) {
  auto cache = openCache();
  const std::string id = put("111111111111", zipWith("v1"));
  for (const auto& e :
       fs::recursive_directory_iterator(data_.path() / "code" / "blobs" / "chunks")) {
    if (!e.is_regular_file()) continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(50);
    f.put('\x7f');
  }
  Result<std::shared_ptr<const CodeLease>> lease = cache->acquire(id);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(lease.error().message.find("chunk "), std::string::npos) << lease.error().message;
  EXPECT_FALSE(fs::exists(shm_.path() / "cache" / "trees" / id));
  EXPECT_TRUE(fs::is_empty(shm_.path() / "cache" / "tmp"));
}

}  // namespace
}  // namespace hearth::codestore
