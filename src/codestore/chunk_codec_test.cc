// Chunk sealing, manifests and the keyring: what is stored reveals nothing, and any change to it
// is caught.
#include "codestore/chunk_codec.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "codestore/keyring.h"
#include "codestore/manifest.h"
#include "common/testing/temp_dir.h"

namespace hearth::codestore {
namespace {

const std::string kSaltA(32, 'a');
const std::string kSaltB(32, 'b');

TEST(ChunkCodec, ConvergentWithinAScopeUnrelatedAcrossScopes) {
  const std::string plain = "the same chunk of code, twice";
  SealedChunk a1 = sealChunk(kSaltA, plain);
  SealedChunk a2 = sealChunk(kSaltA, plain);
  SealedChunk b = sealChunk(kSaltB, plain);
  EXPECT_EQ(a1.id, a2.id);
  EXPECT_EQ(a1.blob, a2.blob);
  EXPECT_NE(a1.id, b.id);
  EXPECT_NE(a1.key, b.key);
  EXPECT_EQ(a1.blob.size(), plain.size() + kChunkOverhead);
  EXPECT_EQ(a1.blob.find(plain), std::string::npos);
  Result<std::string> opened = openChunk(a1.id, a1.key, a1.blob);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plain);
}

TEST(ChunkCodec, EveryAlterationIsCorrupt) {
  SealedChunk c = sealChunk(kSaltA, std::string(1000, 'x'));
  SealedChunk other = sealChunk(kSaltA, std::string(1000, 'y'));
  for (size_t i = 0; i < c.blob.size(); i += 97) {
    std::string bad = c.blob;
    bad[i] ^= 1;
    Result<std::string> r = openChunk(c.id, c.key, bad);
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
    EXPECT_NE(r.error().message.find(chunkIdHex(c.id)), std::string::npos);
  }
  EXPECT_FALSE(openChunk(c.id, c.key, c.blob.substr(0, c.blob.size() - 1)).ok());
  EXPECT_FALSE(openChunk(c.id, c.key, "").ok());
  // A whole, valid blob under the wrong name, or with the wrong key.
  EXPECT_FALSE(openChunk(c.id, c.key, other.blob).ok());
  EXPECT_FALSE(openChunk(c.id, other.key, c.blob).ok());
}

TEST(Manifest, RoundTripsAndRefusesInconsistentContent) {
  SealedChunk c = sealChunk(kSaltA, "abcdef");
  Manifest m;
  m.scope = "account:1";
  m.chunks.push_back({c.id, c.key, 6});
  auto entry = [](std::string path, EntryType type) {
    TreeEntry e;
    e.path = std::move(path);
    e.type = type;
    return e;
  };
  m.entries.push_back(entry("a", EntryType::kDirectory));
  TreeEntry f = entry("a/f", EntryType::kFile);
  f.size = 4;
  f.extents = {{0, 2, 4}};
  m.entries.push_back(f);
  TreeEntry l = entry("b", EntryType::kSymlink);
  l.target = "a/f";
  m.entries.push_back(l);
  m.file_bytes = 4;
  m.image = ImageSettings{"sha256:00", {"/entry"}, {"arg"}, {"A=1"}, "/work"};
  Result<Manifest> back = decodeManifest(encodeManifest(m));
  ASSERT_TRUE(back.ok()) << back.error().toString();
  EXPECT_EQ(encodeManifest(*back), encodeManifest(m));

  auto refused = [](Manifest bad) {
    Result<Manifest> r = decodeManifest(encodeManifest(bad));
    return !r.ok() && r.error().code == ErrorCode::kCorrupt;
  };
  Manifest outside = m;
  outside.entries[1].extents = {{0, 4, 4}};
  EXPECT_TRUE(refused(outside));
  Manifest unsorted = m;
  std::swap(unsorted.entries[0], unsorted.entries[2]);
  EXPECT_TRUE(refused(unsorted));
  Manifest dotdot = m;
  dotdot.entries[2].path = "../b";
  EXPECT_TRUE(refused(dotdot));
  Manifest sizes = m;
  sizes.file_bytes = 5;
  EXPECT_TRUE(refused(sizes));
  EXPECT_FALSE(decodeManifest("{}").ok());
  EXPECT_FALSE(decodeManifest("not json").ok());
}

TEST(Keyring, WrapsUnderTheCurrentKeyAndRotates) {
  hearth::testing::TempDir dir("hearth-keyring");
  const auto path = dir.path() / "keyring";
  Result<Keyring> ring = Keyring::openOrCreate(path);
  ASSERT_TRUE(ring.ok()) << ring.error().toString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string data_key(32, 'k');
  WrappedKey w1 = ring->wrap(data_key, "object-1");
  EXPECT_EQ(w1.key_id, 1u);
  EXPECT_FALSE(ring->unwrap(w1, "object-2").ok());  // bound to its object

  ASSERT_TRUE(ring->addKey().ok());
  WrappedKey w2 = ring->wrap(data_key, "object-1");
  EXPECT_EQ(w2.key_id, 2u);
  Result<Keyring> reread = Keyring::openOrCreate(path);
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(*reread->unwrap(w1, "object-1"), data_key);  // old keys stay until dropped
  EXPECT_EQ(*reread->unwrap(w2, "object-1"), data_key);
  EXPECT_EQ(reread->scopeSalt("account:1"), ring->scopeSalt("account:1"));
  EXPECT_NE(ring->scopeSalt("account:1"), ring->scopeSalt("account:2"));

  ASSERT_TRUE(ring->dropKeysExcept({}).ok());
  EXPECT_EQ(ring->keyIds(), std::set<uint32_t>{2});
  Result<std::string> gone = ring->unwrap(w1, "object-1");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace hearth::codestore
