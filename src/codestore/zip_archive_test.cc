// Zip uploads through the tree builder: what Lambda accepts becomes the canonical tree, and what
// it refuses is refused with its wording, before anything is stored.
#include "codestore/zip_archive.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "codestore/testing/memory_chunks.h"
#include "codestore/testing/zip_builder.h"

namespace hearth::codestore {
namespace {

using testing::MemoryChunks;
using testing::Node;
using testing::treeOf;
using testing::ZipBuilder;

struct Unpacked {
  Result<Manifest> manifest = makeError(ErrorCode::kInternal, "not run");
  MemoryChunks chunks;
};

std::unique_ptr<Unpacked> unpack(const std::string& zip, TreeRules rules = zipTreeRules(),
                                 unsigned threads = 1) {
  auto u = std::make_unique<Unpacked>();
  TreeBuilder builder(u->chunks, std::move(rules));
  Result<void> read = unpackZip(zip, builder, threads);
  u->manifest = read ? builder.finish() : Result<Manifest>(read.error());
  return u;
}

void expectRefused(const std::string& zip, ErrorCode code, TreeRules rules = zipTreeRules()) {
  auto u = unpack(zip, std::move(rules));
  ASSERT_FALSE(u->manifest.ok());
  EXPECT_EQ(u->manifest.error().code, code) << u->manifest.error().toString();
}

TEST(ZipArchive, BuildsTheCanonicalTreeWithNormalisedPermissions) {
  const std::string zip = ZipBuilder()
                              .file("b/run.sh", "#!/bin/sh\n", 0700)
                              .file("a.py", "print(1)\n", 0600)
                              .file("win\\style.txt", "w")
                              .dir("empty/")
                              .dir("./")
                              .symlink("b/link", "../a.py")
                              .file("./b/./c//d.txt", "deep")
                              .build();
  auto u = unpack(zip);
  ASSERT_TRUE(u->manifest.ok()) << u->manifest.error().toString();
  std::map<std::string, Node> want = {
      {"a.py", {'f', 0644, "print(1)\n"}},
      {"b", {'d', 0755, ""}},
      {"b/c", {'d', 0755, ""}},
      {"b/c/d.txt", {'f', 0644, "deep"}},
      {"b/link", {'l', 0, "../a.py"}},
      {"b/run.sh", {'f', 0755, "#!/bin/sh\n"}},
      {"empty", {'d', 0755, ""}},
      {"win", {'d', 0755, ""}},
      {"win/style.txt", {'f', 0644, "w"}},
  };
  EXPECT_EQ(treeOf(*u->manifest, u->chunks.blobs), want);
  // Entries are sorted, so the same tree zipped in another order gives the same manifest.
  const std::string reordered = ZipBuilder()
                                    .file("./b/./c//d.txt", "deep")
                                    .symlink("b/link", "../a.py")
                                    .dir("empty/")
                                    .file("win/style.txt", "w")
                                    .file("a.py", "print(1)\n", 0644)
                                    .file("b/run.sh", "#!/bin/sh\n", 0755)
                                    .build();
  auto again = unpack(reordered);
  ASSERT_TRUE(again->manifest.ok());
  EXPECT_EQ(encodeManifest(*again->manifest), encodeManifest(*u->manifest));
}

// (A name that is not UTF-8 cannot go into a manifest, which is JSON: refused too.)
TEST(ZipArchive, RefusesNamesThatLeaveTheTree) {
  for (const char* name : {"../escape", "/tmp/escape", "a/../../escape", "a\\..\\..\\escape", "..",
                           "\\escape", "latin1-caf\xe9.txt"}) {
    SCOPED_TRACE(name);
    expectRefused(ZipBuilder().file("ok.txt", "fine").file(name, "evil").build(),
                  ErrorCode::kInvalidZipFile);
  }
}

TEST(ZipArchive, RefusesSymlinksThatLeaveTheTreeAndEntriesBelowLinks) {
  struct Case {
    const char* what;
    ZipBuilder zip;
  };
  Case cases[] = {
      {"relative escape, then an entry through it",
       ZipBuilder().symlink("etc", "../../etc").file("etc/passwd", "root::0:0::/:/bin/sh\n")},
      {"escape to a file", ZipBuilder().symlink("lib/pw", "../../../etc/passwd")},
      {"absolute", ZipBuilder().symlink("etc", "/etc")},
      {"empty target", ZipBuilder().symlink("nothing", "")},
      {"'..' after a link", ZipBuilder().symlink("b", ".").symlink("a", "b/..")},
      {"'..' after a name", ZipBuilder().dir("d/").symlink("x", "d/../..")},
      {"entry below an inside link",
       ZipBuilder().dir("sub/").symlink("lnk", "sub").file("lnk/x", "x")},
      {"entry below a file", ZipBuilder().file("f", "x").file("f/g", "y")},
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.what);
    expectRefused(c.zip.build(), ErrorCode::kInvalidZipFile);
  }
  auto ok = unpack(ZipBuilder().dir("d/e/").symlink("d/e/up", "../../top").build());
  EXPECT_TRUE(ok->manifest.ok()) << ok->manifest.error().toString();
}

TEST(ZipArchive, RefusesSpecialFilesDuplicatesAndEncryption) {
  const std::string plain = ZipBuilder().file("x", "data").build();
  for (uint16_t type : {S_IFCHR, S_IFBLK, S_IFSOCK}) {
    SCOPED_TRACE(type);
    expectRefused(testing::withUnixMode(plain, type | 0644), ErrorCode::kInvalidZipFile);
  }
  // A FIFO-typed entry is a file zipped from a pipe: it becomes a regular file.
  auto fifo = unpack(testing::withUnixMode(plain, S_IFIFO | 0644));
  ASSERT_TRUE(fifo->manifest.ok()) << fifo->manifest.error().toString();
  EXPECT_EQ(treeOf(*fifo->manifest, fifo->chunks.blobs).at("x"), (Node{'f', 0644, "data"}));

  expectRefused(ZipBuilder().file("x", "1").file("x", "2").build(), ErrorCode::kInvalidZipFile);
  auto enc = unpack(ZipBuilder().file("secret", "data").encrypt("pw").build());
  ASSERT_FALSE(enc->manifest.ok());
  EXPECT_EQ(enc->manifest.error().code, ErrorCode::kInvalidZipFile);
  EXPECT_NE(enc->manifest.error().message.find("encrypted"), std::string::npos);
}

TEST(ZipArchive, NonZipInputGetsLambdasMessage) {
  const std::string good = ZipBuilder().file("a", std::string(1000, 'a')).build();
  for (const std::string& input :
       {std::string(), std::string("just some text, not an archive"), std::string(4096, '\0'),
        good.substr(0, good.size() / 2), good.substr(good.size() / 2)}) {
    auto u = unpack(input);
    ASSERT_FALSE(u->manifest.ok());
    EXPECT_EQ(u->manifest.error().code, ErrorCode::kInvalidZipFile);
    EXPECT_EQ(u->manifest.error().message, kCouldNotUnzip);
  }
}

TEST(ZipArchive, CountsInflatedBytesNotHeaders) {
  const TreeRules limited = zipTreeRules(1 << 20);
  auto at_limit = unpack(ZipBuilder().zeros("z", 1 << 20).build(), limited);
  ASSERT_TRUE(at_limit->manifest.ok()) << at_limit->manifest.error().toString();
  EXPECT_EQ(at_limit->manifest->file_bytes, 1u << 20);

  expectRefused(ZipBuilder().zeros("a", 600 << 10).zeros("b", 600 << 10).build(),
                ErrorCode::kInvalidParameter, limited);

  // Headers claiming 100 bytes for 8 MiB of zeros: caught by counting, stopped at the limit.
  const std::string liar =
      testing::withDeclaredSize(ZipBuilder().zeros("z", 8 << 20).build(), "z", 100);
  auto u = unpack(liar, limited);
  ASSERT_FALSE(u->manifest.ok());
  EXPECT_EQ(u->manifest.error().message, "Unzipped size must be smaller than 1048576 bytes");
  EXPECT_LE(u->chunks.stored, 2);  // at most the chunks below the limit were cut
}

TEST(ZipArchive, LimitsEntryCount) {
  ZipBuilder builder;
  for (int i = 0; i < 11; ++i) builder.file("f" + std::to_string(i), "x");
  const std::string zip = builder.build();
  expectRefused(zip, ErrorCode::kInvalidZipFile, zipTreeRules(kMaxUnzippedBytes, 10));
  EXPECT_TRUE(unpack(zip, zipTreeRules(kMaxUnzippedBytes, 11))->manifest.ok());
}

TEST(ZipArchive, ParallelReadersGiveTheSameManifestAndTheSameErrors) {
  ZipBuilder b;
  for (int i = 0; i < 60; ++i) {
    b.file("src/m" + std::to_string(i) + ".py", testing::pseudoRandom(3000 + i * 50, i));
  }
  for (int i = 0; i < 5; ++i) {
    b.file("lib/l" + std::to_string(i) + ".so", testing::pseudoRandom(600 << 10, 100 + i), 0755);
  }
  b.symlink("lib/current.so", "l0.so").dir("empty/");
  const std::string zip = b.build();
  auto one = unpack(zip, zipTreeRules(), 1);
  ASSERT_TRUE(one->manifest.ok()) << one->manifest.error().toString();
  for (unsigned threads : {2u, 3u, 4u}) {
    SCOPED_TRACE(threads);
    auto many = unpack(zip, zipTreeRules(), threads);
    ASSERT_TRUE(many->manifest.ok()) << many->manifest.error().toString();
    EXPECT_EQ(encodeManifest(*many->manifest), encodeManifest(*one->manifest));
  }
  // Two bad entries: the first in archive order is the one reported, whatever the threads.
  const std::string bad = ZipBuilder()
                              .file("ok1", "x")
                              .file("../first-escape", "y")
                              .file("ok2", "z")
                              .symlink("second", "/etc/passwd")
                              .build();
  auto e1 = unpack(bad, zipTreeRules(), 1);
  ASSERT_FALSE(e1->manifest.ok());
  for (unsigned threads : {2u, 4u}) {
    auto e = unpack(bad, zipTreeRules(), threads);
    ASSERT_FALSE(e->manifest.ok());
    EXPECT_EQ(e->manifest.error().message, e1->manifest.error().message);
  }
  EXPECT_NE(e1->manifest.error().message.find("first-escape"), std::string::npos);
}

TEST(ZipArchive, WriteZipRoundTripsTheTree) {
  const std::string zip = ZipBuilder()
                              .file("bin/tool", std::string(300 << 10, 't'), 0755)
                              .file("lib/a.py", "a")
                              .file("lib/empty", "")
                              .symlink("lib/b.py", "a.py")
                              .dir("data/")
                              .build();
  auto u = unpack(zip);
  ASSERT_TRUE(u->manifest.ok());
  ChunkReader reader(*u->manifest, "t", [&](const ChunkId& id) -> Result<std::string> {
    return u->chunks.blobs.at(id);
  });
  Result<std::string> out =
      writeZip(*u->manifest, [&](const TreeEntry& e) { return reader.content(e); });
  ASSERT_TRUE(out.ok()) << out.error().toString();
  auto back = unpack(*out);
  ASSERT_TRUE(back->manifest.ok()) << back->manifest.error().toString();
  EXPECT_EQ(treeOf(*back->manifest, back->chunks.blobs), treeOf(*u->manifest, u->chunks.blobs));
  // Canonical: the same tree writes the same bytes.
  Result<std::string> again = writeZip(*back->manifest, [&](const TreeEntry& e) {
    ChunkReader r(*back->manifest, "t", [&](const ChunkId& id) -> Result<std::string> {
      return back->chunks.blobs.at(id);
    });
    return r.content(e);
  });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *out);
}

}  // namespace
}  // namespace hearth::codestore
