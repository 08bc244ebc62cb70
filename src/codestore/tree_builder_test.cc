// The canonical tree: layers and whiteouts, and how contents become chunks.
#include "codestore/tree_builder.h"

#include <gtest/gtest.h>

#include <set>

#include "codestore/chunker.h"
#include "codestore/testing/memory_chunks.h"

namespace hearth::codestore {
namespace {

using testing::MemoryChunks;
using testing::Node;
using testing::treeOf;

class StringSource final : public FileSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  Result<size_t> read(char* buf, size_t n) override {
    size_t take = std::min(n, data_.size() - pos_);
    data_.copy(buf, take, pos_);
    pos_ += take;
    return take;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

TreeRules imageRules() {
  TreeRules r;
  r.symlinks = SymlinkPolicy::kRootedTree;
  r.replace_allowed = true;
  r.max_file_bytes = uint64_t{1} << 30;
  r.max_entries = 100000;
  return r;
}

Result<void> add(TreeBuilder& b, const std::string& path, std::string content, bool exec = false) {
  StringSource src(std::move(content));
  return b.addFile(path, exec, src);
}

std::set<ChunkId> chunkIds(const Manifest& m) {
  std::set<ChunkId> ids;
  for (const ChunkRef& c : m.chunks) ids.insert(c.id);
  return ids;
}

TEST(TreeBuilder, WhiteoutsAndOpaqueDirectoriesApplyToEarlierLayersOnly) {
  MemoryChunks chunks;
  TreeBuilder b(chunks, imageRules());
  b.beginLayer();
  ASSERT_TRUE(add(b, "etc/keep", "k").ok());
  ASSERT_TRUE(add(b, "etc/gone", "g").ok());
  ASSERT_TRUE(add(b, "opt/app/old", "o").ok());
  ASSERT_TRUE(add(b, "usr/bin/python3.11", "py", true).ok());
  ASSERT_TRUE(b.addSymlink("usr/bin/python3", "/usr/bin/python3.11").ok());
  ASSERT_TRUE(b.addHardLink("usr/bin/python", "usr/bin/python3.11").ok());
  b.beginLayer();
  ASSERT_TRUE(add(b, "opt/app/new", "n").ok());  // before the opaque marker, same layer
  ASSERT_TRUE(b.clearDirectory("opt/app").ok());
  ASSERT_TRUE(b.remove("etc/gone").ok());
  ASSERT_TRUE(b.remove("not/there").ok());
  ASSERT_TRUE(add(b, "etc/keep", "replaced").ok());
  Result<Manifest> m = b.finish();
  ASSERT_TRUE(m.ok()) << m.error().toString();
  std::map<std::string, Node> want = {
      {"etc", {'d', 0755, ""}},
      {"etc/keep", {'f', 0644, "replaced"}},
      {"opt", {'d', 0755, ""}},
      {"opt/app", {'d', 0755, ""}},
      {"opt/app/new", {'f', 0644, "n"}},
      {"usr", {'d', 0755, ""}},
      {"usr/bin", {'d', 0755, ""}},
      {"usr/bin/python", {'f', 0755, "py"}},
      {"usr/bin/python3", {'l', 0, "/usr/bin/python3.11"}},
      {"usr/bin/python3.11", {'f', 0755, "py"}},
  };
  EXPECT_EQ(treeOf(*m, chunks.blobs), want);
}

TEST(TreeBuilder, AnOpaqueRootClearsEveryEarlierLayer) {
  MemoryChunks chunks;
  TreeBuilder b(chunks, imageRules());
  b.beginLayer();
  ASSERT_TRUE(add(b, "old/file", "o").ok());
  b.beginLayer();
  ASSERT_TRUE(add(b, "new", "n").ok());
  ASSERT_TRUE(b.clearDirectory("").ok());
  Result<Manifest> m = b.finish();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(treeOf(*m, chunks.blobs), (std::map<std::string, Node>{{"new", {'f', 0644, "n"}}}));
}

TEST(TreeBuilder, ReplacingADirectoryDropsItsContentAndLinksCannotBeParents) {
  MemoryChunks chunks;
  TreeBuilder b(chunks, imageRules());
  b.beginLayer();
  ASSERT_TRUE(add(b, "lib/x/y", "y").ok());
  b.beginLayer();
  ASSERT_TRUE(b.addSymlink("lib/x", "/elsewhere").ok());
  Result<Manifest> m = b.finish();
  ASSERT_TRUE(m.ok()) << m.error().toString();
  EXPECT_EQ(treeOf(*m, chunks.blobs).count("lib/x/y"), 0u);

  TreeBuilder through(chunks, imageRules());
  through.beginLayer();
  ASSERT_TRUE(through.addSymlink("etc", "/host-etc").ok());
  Result<void> below = add(through, "etc/passwd", "x");
  ASSERT_TRUE(below.ok()) << below.error().toString();
  Result<Manifest> refused = through.finish();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("below a symbolic link"), std::string::npos);
}

TEST(TreeBuilder, LargeFilesChunkAloneAndDeduplicateAcrossTrees) {
  const std::string big = testing::pseudoRandom(3 << 20, 1);
  MemoryChunks chunks;
  TreeBuilder one(chunks, imageRules());
  one.beginLayer();
  ASSERT_TRUE(add(one, "a/lib.so", big).ok());
  Result<Manifest> m1 = one.finish();
  ASSERT_TRUE(m1.ok());
  // Several chunks, each within the bounds.
  ASSERT_GE(m1->chunks.size(), 2u);
  for (size_t i = 0; i + 1 < m1->chunks.size(); ++i) {
    EXPECT_GE(m1->chunks[i].size, kFileChunking.min_bytes);
    EXPECT_LE(m1->chunks[i].size, kFileChunking.max_bytes);
  }
  // The same file under another name, beside other content: the same chunks.
  TreeBuilder two(chunks, imageRules());
  two.beginLayer();
  ASSERT_TRUE(add(two, "small.txt", "hello").ok());
  ASSERT_TRUE(add(two, "z/other/lib.so", big).ok());
  Result<Manifest> m2 = two.finish();
  ASSERT_TRUE(m2.ok());
  std::set<ChunkId> ids1 = chunkIds(*m1), ids2 = chunkIds(*m2);
  for (const ChunkId& id : ids1) EXPECT_TRUE(ids2.count(id));
  EXPECT_EQ(ids2.size(), ids1.size() + 1);  // plus the pack holding small.txt
}

TEST(TreeBuilder, SmallFilesArePackedAndAChangeRewritesLittle) {
  auto build = [](MemoryChunks& chunks, int changed) {
    TreeBuilder b(chunks, imageRules());
    b.beginLayer();
    for (int i = 0; i < 2000; ++i) {
      std::string content = testing::pseudoRandom(2000 + i % 700, static_cast<uint32_t>(i));
      if (i == changed) content += "changed";
      EXPECT_TRUE(add(b, "pkg/mod" + std::to_string(i) + ".py", content).ok());
    }
    Result<Manifest> m = b.finish();
    EXPECT_TRUE(m.ok());
    return std::move(m).value();
  };
  MemoryChunks chunks;
  Manifest v1 = build(chunks, -1);
  // 2000 files of ~2.3 KB: a few dozen chunks, not two thousand.
  EXPECT_LT(v1.chunks.size(), 150u);
  EXPECT_GT(v1.chunks.size(), 20u);
  Manifest v2 = build(chunks, 1000);
  std::set<ChunkId> ids1 = chunkIds(v1);
  uint64_t new_bytes = 0;
  for (const ChunkRef& c : v2.chunks) {
    if (!ids1.count(c.id)) new_bytes += c.size;
  }
  // One changed file costs about a pack chunk or two, not the whole pack.
  EXPECT_GT(new_bytes, 0u);
  EXPECT_LE(new_bytes, 2 * kPackChunking.max_bytes);
}

TEST(Chunker, CutsResynchroniseAfterAnInsertion) {
  const std::string data = testing::pseudoRandom(8 << 20, 7);
  auto cuts = [](std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
      size_t n = firstChunkLength(s, kFileChunking);
      out.push_back(s.substr(0, n));
      s.remove_prefix(n);
    }
    return out;
  };
  std::vector<std::string_view> before = cuts(data);
  const std::string edited = data.substr(0, 1000) + "inserted bytes" + data.substr(1000);
  std::vector<std::string_view> after = cuts(edited);
  std::set<std::string_view> original(before.begin(), before.end());
  size_t shared = 0;
  for (std::string_view c : after) shared += original.count(c);
  EXPECT_GE(shared + 2, before.size());  // only the chunks around the edit differ
  // The average is in the intended range.
  EXPECT_GT(before.size(), 8u);
  EXPECT_LT(before.size(), 40u);
}

}  // namespace
}  // namespace hearth::codestore
