// The code store end to end on a real directory: dedup across versions, functions and scopes,
// no plaintext at rest, tampering caught, and garbage collection that survives concurrency and
// crashes.
#include "codestore/chunked_code_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "codestore/testing/memory_chunks.h"
#include "codestore/testing/zip_builder.h"
#include "codestore/zip_archive.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/ids.h"
#include "common/testing/temp_dir.h"

namespace hearth::codestore {
namespace {

namespace fs = std::filesystem;
using testing::ZipBuilder;

// A function of `files` 1 MiB libraries plus a handler whose text names `version`.
std::string functionZip(int version, int files = 4, uint32_t seed = 1) {
  ZipBuilder b;
  b.file("handler.py", "VERSION = " + std::to_string(version) + "\ndef handler(e, c): return e\n");
  for (int i = 0; i < files; ++i) {
    b.file("lib/dep" + std::to_string(i) + ".so",
           testing::pseudoRandom(1 << 20, seed + static_cast<uint32_t>(i)));
  }
  return b.build();
}

class ChunkedCodeStoreTest : public ::testing::Test {
 protected:
  CodeStoreOptions options(std::set<std::string> shared = {}) const {
    CodeStoreOptions o;
    o.dir = dir_.path() / "code";
    o.keyring = dir_.path() / "keyring";
    o.shared_scope_accounts = std::move(shared);
    return o;
  }
  std::unique_ptr<ChunkedCodeStore> open(std::set<std::string> shared = {}) {
    auto s = ChunkedCodeStore::open(options(std::move(shared)));
    EXPECT_TRUE(s.ok()) << s.error().toString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::vector<fs::path> blobFiles(const char* kind) const {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_.path() / "code" / "blobs" / kind)) {
      if (e.is_regular_file()) out.push_back(e.path());
    }
    return out;
  }
  static std::set<ChunkId> chunksOf(CodeStore& s, const std::string& id) {
    std::set<ChunkId> ids;
    Result<Manifest> m = s.manifest(id);
    EXPECT_TRUE(m.ok()) << m.error().toString();
    if (m.ok()) {
      for (const ChunkRef& c : m->chunks) ids.insert(c.id);
    }
    return ids;
  }
  // Reads every file of `id` back, verifying every chunk.
  static Result<void> readAll(CodeStore& s, const std::string& id) {
    Result<std::string> zip = s.readZip(id);
    if (!zip) return zip.error();
    return {};
  }
  uint64_t storedBytes(ChunkedCodeStore& s, const std::string& account) {
    Result<std::vector<CodeUsage>> u = s.usage();
    EXPECT_TRUE(u.ok());
    for (const CodeUsage& x : *u) {
      if (x.account_id == account) return x.stored_bytes;
    }
    return 0;
  }

  hearth::testing::TempDir dir_{"hearth-codestore"};
};

TEST_F(ChunkedCodeStoreTest, StoresTheTreeAndGivesItBack) {
  auto s = open();
  const std::string zip = ZipBuilder()
                              .file("index.py", "def handler(e, c): return e\n")
                              .file("bin/run", "#!/bin/sh\n", 0755)
                              .symlink("latest", "index.py")
                              .build();
  Result<CodeInfo> info = s->put("111111111111", zip);
  ASSERT_TRUE(info.ok()) << info.error().toString();
  EXPECT_EQ(info->sha256_base64, base64Encode(sha256(zip)));
  EXPECT_EQ(info->zipped_bytes, zip.size());
  EXPECT_EQ(info->unzipped_bytes, 38u);
  // The same upload again is the same object; the download holds the same tree.
  Result<CodeInfo> again = s->put("111111111111", zip);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, info->id);
  Result<std::string> download = s->readZip(info->id);
  ASSERT_TRUE(download.ok()) << download.error().toString();
  testing::MemoryChunks a, b;
  TreeBuilder ta(a, zipTreeRules()), tb(b, zipTreeRules());
  ASSERT_TRUE(unpackZip(zip, ta).ok());
  ASSERT_TRUE(unpackZip(*download, tb).ok());
  EXPECT_EQ(testing::treeOf(*ta.finish(), a.blobs), testing::treeOf(*tb.finish(), b.blobs));
  // Reopened, it is still there; bad uploads store nothing.
  s.reset();
  s = open();
  EXPECT_TRUE(readAll(*s, info->id).ok());
  Result<CodeInfo> bad = s->put("111111111111", "not a zip");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidZipFile);
  EXPECT_EQ(s->put("111111111111", std::string(kMaxZippedBytes + 1, 'x')).error().code,
            ErrorCode::kEntityTooLarge);
  EXPECT_EQ(s->manifest("0123").error().code, ErrorCode::kNotFound);
}

TEST_F(ChunkedCodeStoreTest, VersionsDifferingInOneFileCostLittleMoreThanOne) {
  auto s = open();
  const std::string account = "111111111111";
  Result<CodeInfo> v1 = s->put(account, functionZip(1, 8));
  ASSERT_TRUE(v1.ok());
  const uint64_t one = storedBytes(*s, account);
  EXPECT_GT(one, 8u << 20);
  uint64_t changed = 0;
  for (int v = 2; v <= 20; ++v) {
    // Each version changes the handler and replaces one library.
    ZipBuilder b;
    b.file("handler.py", "VERSION = " + std::to_string(v) + "\n");
    for (int i = 0; i < 8; ++i) {
      uint32_t seed = static_cast<uint32_t>(i == v % 8 ? 1000 + v : 1 + i);
      b.file("lib/dep" + std::to_string(i) + ".so", testing::pseudoRandom(1 << 20, seed));
    }
    ASSERT_TRUE(s->put(account, b.build()).ok());
    changed += 1 << 20;
  }
  const uint64_t twenty = storedBytes(*s, account);
  EXPECT_LE(twenty, one + one / 10 + changed) << "one " << one << " twenty " << twenty;
}

TEST_F(ChunkedCodeStoreTest, DeduplicatesWithinAnAccountNeverAcross) {
  auto s = open({"222222222222", "333333333333"});
  const std::string zip = functionZip(1);
  Result<CodeInfo> a = s->put("111111111111", zip);
  Result<CodeInfo> other_fn = s->put("111111111111", functionZip(2));  // same libraries
  Result<CodeInfo> b = s->put("444444444444", zip);
  ASSERT_TRUE(a.ok() && other_fn.ok() && b.ok());
  std::set<ChunkId> ca = chunksOf(*s, a->id), cf = chunksOf(*s, other_fn->id),
                    cb = chunksOf(*s, b->id);
  size_t shared_fn = 0, shared_accounts = 0;
  for (const ChunkId& id : ca) {
    shared_fn += cf.count(id);
    shared_accounts += cb.count(id);
  }
  EXPECT_EQ(shared_fn, ca.size() - 1);  // all but the pack holding handler.py
  EXPECT_EQ(shared_accounts, 0u);
  EXPECT_NE(a->id, b->id);

  // Accounts configured into the shared scope do deduplicate with each other.
  Result<CodeInfo> p = s->put("222222222222", zip);
  Result<CodeInfo> q = s->put("333333333333", zip);
  ASSERT_TRUE(p.ok() && q.ok());
  EXPECT_EQ(chunksOf(*s, p->id), chunksOf(*s, q->id));
  EXPECT_NE(p->id, q->id);  // objects stay per account
}

TEST_F(ChunkedCodeStoreTest, TheDataDirectoryHoldsNoPlaintext) {
  auto s = open();
  const std::string marker = "HEARTH-PLAINTEXT-MARKER-" + randomHex(8);
  std::string big = testing::pseudoRandom(600 << 10, 9);
  big.replace(1000, marker.size(), marker);
  const std::string zip =
      ZipBuilder().file("secret.txt", marker + " small").file("big.bin", big).build();
  ASSERT_TRUE(s->put("111111111111", zip).ok());
  const Sha256Digest big_hash = sha256(big);
  const std::string needles[] = {marker, "secret.txt", "big.bin", hexEncode(big_hash),
                                 std::string(reinterpret_cast<const char*>(big_hash.data()), 32)};
  for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
    if (!e.is_regular_file() || e.path().filename() == "keyring") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), {});
    for (const std::string& n : needles) {
      EXPECT_EQ(content.find(n), std::string::npos)
          << e.path() << " holds " << hexEncode(n.substr(0, 8));
    }
  }
}

TEST_F(ChunkedCodeStoreTest, TamperedChunksAndManifestsAreCorrupt) {
  auto s = open();
  Result<CodeInfo> info = s->put("111111111111", functionZip(1, 2));
  ASSERT_TRUE(info.ok());
  std::vector<fs::path> chunks = blobFiles("chunks");
  ASSERT_GE(chunks.size(), 3u);
  // One flipped byte in one chunk.
  {
    std::fstream f(chunks[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
  }
  Result<std::string> r = s->readZip(info->id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message.find(chunks[0].filename().string()), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(info->id), std::string::npos);
  // Two chunks swapped: each is whole and valid, but not the one named.
  fs::path tmp = chunks[1].string() + ".swap";
  fs::rename(chunks[1], tmp);
  fs::rename(chunks[2], chunks[1]);
  fs::rename(tmp, chunks[2]);
  EXPECT_EQ(s->readZip(info->id).error().code, ErrorCode::kCorrupt);
  // The manifest.
  std::vector<fs::path> manifests = blobFiles("manifests");
  ASSERT_EQ(manifests.size(), 1u);
  {
    std::fstream f(manifests[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x01');
  }
  Result<Manifest> m = s->manifest(info->id);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(m.error().message.find(info->id), std::string::npos);
}

TEST_F(ChunkedCodeStoreTest, RemovingFreesOnlyChunksNothingElseUses) {
  auto s = open();
  const std::string account = "111111111111";
  Result<CodeInfo> v1 = s->put(account, functionZip(1));
  Result<CodeInfo> v2 = s->put(account, functionZip(2));
  ASSERT_TRUE(v1.ok() && v2.ok());
  std::set<ChunkId> c1 = chunksOf(*s, v1->id), c2 = chunksOf(*s, v2->id);
  ASSERT_TRUE(s->remove(v1->id).ok());
  EXPECT_EQ(s->remove(v1->id).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(readAll(*s, v2->id).ok());
  EXPECT_EQ(blobFiles("chunks").size(), c2.size());
  ASSERT_TRUE(s->retainOnly({}).ok());
  EXPECT_TRUE(blobFiles("chunks").empty());
  EXPECT_TRUE(blobFiles("manifests").empty());
  Result<std::vector<CodeUsage>> u = s->usage();
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->empty());
  (void)c1;
}

TEST_F(ChunkedCodeStoreTest, ConcurrentUploadNeverLosesAChunkToCollection) {
  auto s = open();
  const std::string account = "111111111111";
  for (int round = 0; round < 20; ++round) {
    Result<CodeInfo> v1 = s->put(account, functionZip(1000 + round, 3, 50));
    ASSERT_TRUE(v1.ok());
    // v2 shares v1's libraries; v1 is removed while v2 is being stored.
    const std::string zip2 = functionZip(2000 + round, 3, 50);
    Result<CodeInfo> v2 = makeError(ErrorCode::kInternal, "not run");
    std::thread upload([&] { v2 = s->put(account, zip2); });
    ASSERT_TRUE(s->remove(v1->id).ok());
    upload.join();
    ASSERT_TRUE(v2.ok()) << v2.error().toString();
    ASSERT_TRUE(readAll(*s, v2->id).ok()) << "round " << round;
    ASSERT_TRUE(s->remove(v2->id).ok());
  }
  EXPECT_TRUE(blobFiles("chunks").empty());
}

// Runs `work` in a child process and kills it with SIGKILL after `delay`.
void killDuring(std::chrono::microseconds delay, const std::function<void()>& work) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    work();
    ::_exit(0);
  }
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
}

TEST_F(ChunkedCodeStoreTest, CrashesDuringUploadAndCollectionLoseAndLeakNothing) {
  const std::string account = "111111111111";
  std::string keep_id;
  {
    auto s = open();
    Result<CodeInfo> keep = s->put(account, functionZip(1, 6, 300));
    ASSERT_TRUE(keep.ok());
    keep_id = keep->id;
  }
  const std::string zip_a = functionZip(2, 6, 300);  // shares keep's libraries
  const std::string zip_b = functionZip(3, 12, 700);
  std::mt19937 rng(42);
  for (int round = 0; round < 12; ++round) {
    auto delay = std::chrono::microseconds(rng() % 150000);
    // The child uploads and removes in a loop; it dies wherever the delay lands.
    killDuring(delay, [&] {
      auto child = ChunkedCodeStore::open(options());
      if (!child.ok()) ::_exit(3);
      for (;;) {
        Result<CodeInfo> a = (*child)->put(account, zip_a);
        Result<CodeInfo> b = (*child)->put(account, zip_b);
        if (a.ok()) (void)(*child)->remove(a->id);
        if (b.ok()) (void)(*child)->remove(b->id);
      }
    });
    auto s = open();
    ASSERT_NE(s, nullptr);
    // What was committed is whole; what was not is gone.
    ASSERT_TRUE(readAll(*s, keep_id).ok()) << "round " << round;
    std::set<std::string> referenced;
    Result<std::vector<CodeUsage>> u = s->usage();
    ASSERT_TRUE(u.ok());
    ASSERT_TRUE(s->retainOnly({keep_id}).ok());
    std::set<ChunkId> live = chunksOf(*s, keep_id);
    EXPECT_EQ(blobFiles("chunks").size(), live.size()) << "round " << round;
    EXPECT_EQ(blobFiles("manifests").size(), 1u);
  }
}

TEST_F(ChunkedCodeStoreTest, RotationRewrapsDataKeysWithoutTouchingBlobs) {
  std::string id;
  std::map<fs::path, std::string> before;
  {
    auto s = open();
    Result<CodeInfo> info = s->put("111111111111", functionZip(1, 2));
    ASSERT_TRUE(info.ok());
    id = info->id;
    for (const char* kind : {"chunks", "manifests"}) {
      for (const fs::path& p : blobFiles(kind)) {
        std::ifstream in(p, std::ios::binary);
        before[p] = std::string((std::istreambuf_iterator<char>(in)), {});
      }
    }
    ASSERT_TRUE(s->rotateKeys().ok());
    EXPECT_TRUE(readAll(*s, id).ok());
  }
  Result<Keyring> ring = Keyring::openOrCreate(dir_.path() / "keyring");
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(ring->keyIds(), std::set<uint32_t>{2});
  auto s = open();
  EXPECT_TRUE(readAll(*s, id).ok());
  for (const auto& [path, content] : before) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), content) << path;
  }
  // A keyring that lost the key is a clear error, not garbage.
  s.reset();
  fs::remove(dir_.path() / "keyring");
  s = open();
  EXPECT_EQ(s->manifest(id).error().code, ErrorCode::kCorrupt);
}

TEST_F(ChunkedCodeStoreTest, UsageCountsLogicalAndStoredBytesPerAccount) {
  auto s = open();
  for (int v = 1; v <= 3; ++v) ASSERT_TRUE(s->put("111111111111", functionZip(v)).ok());
  ASSERT_TRUE(s->put("444444444444", functionZip(1)).ok());
  Result<std::vector<CodeUsage>> u = ChunkedCodeStore::readUsage(dir_.path() / "code");
  ASSERT_TRUE(u.ok()) << u.error().toString();
  ASSERT_EQ(u->size(), 2u);
  const CodeUsage& a = (*u)[0];
  const CodeUsage& b = (*u)[1];
  EXPECT_EQ(a.account_id, "111111111111");
  EXPECT_EQ(a.objects, 3u);
  EXPECT_GT(a.logical_bytes, 3 * (4u << 20));
  EXPECT_LT(a.stored_bytes, a.logical_bytes / 2);  // three versions, stored about once
  EXPECT_GE(b.stored_bytes, 4u << 20);
  // The store is locked by one process at a time.
  Result<std::unique_ptr<ChunkedCodeStore>> second = ChunkedCodeStore::open(options());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
}

}  // namespace
}  // namespace hearth::codestore
