#include "codestore/local_code_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "codestore/testing/zip_builder.h"
#include "common/crypto.h"
#include "common/encoding.h"

namespace hearth::codestore {
namespace {

namespace fs = std::filesystem;
using testing::ZipBuilder;

class LocalCodeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hearth-codestore-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = fs::path(tmpl) / "code";
  }
  void TearDown() override { fs::remove_all(dir_.parent_path()); }

  std::unique_ptr<CodeStore> open() {
    auto store = openLocalCodeStore(dir_);
    EXPECT_TRUE(store.ok()) << store.error().toString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Every path under the store's data directories (LOCK aside).
  std::vector<std::string> contents() const {
    std::vector<std::string> paths;
    for (const char* sub : {"zips", "trees", "tmp"}) {
      for (const auto& e : fs::recursive_directory_iterator(dir_ / sub)) {
        paths.push_back(e.path().lexically_relative(dir_).string());
      }
    }
    std::sort(paths.begin(), paths.end());
    return paths;
  }

  static std::string readText(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
};

const std::string& sampleZip() {
  static const std::string zip = ZipBuilder()
                                     .file("index.py", "def handler(e, c): return e\n")
                                     .file("bin/tool", "#!/bin/sh\necho hi\n", 0750)
                                     .file("pkg/sub/data.json", "{}")
                                     .symlink("pkg/latest", "sub")
                                     .build();
  return zip;
}

TEST_F(LocalCodeStoreTest, StoresOnceMaterializesReadsAndRemoves) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::string& zip = sampleZip();
  auto info = store->put(zip);
  ASSERT_TRUE(info.ok()) << info.error().toString();
  EXPECT_EQ(info->id, hexEncode(sha256(zip)));
  EXPECT_EQ(info->sha256_base64, base64Encode(sha256(zip)));
  EXPECT_EQ(info->zipped_bytes, zip.size());
  EXPECT_EQ(info->unzipped_bytes, 28u + 18u + 2u);

  auto again = store->put(zip);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, info->id);
  EXPECT_EQ(again->unzipped_bytes, info->unzipped_bytes);
  const std::string hex = info->id;
  const std::vector<std::string> stored = contents();
  EXPECT_EQ(std::count(stored.begin(), stored.end(), "zips/" + hex + ".zip"), 1);

  auto tree = store->materialize(hex);
  ASSERT_TRUE(tree.ok()) << tree.error().toString();
  EXPECT_EQ(*tree, dir_ / "trees" / hex);
  EXPECT_EQ(readText(*tree / "pkg/latest/data.json"), "{}");
  EXPECT_EQ(fs::status(*tree / "bin/tool").permissions(), fs::perms(0755));
  EXPECT_EQ(fs::status(*tree / "index.py").permissions(), fs::perms(0644));
  EXPECT_EQ(fs::status(*tree).permissions(), fs::perms(0755));

  auto bytes = store->readZip(hex);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, zip);

  // A lost tree is rebuilt from the zip.
  fs::remove_all(*tree);
  auto rebuilt = store->materialize(hex);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().toString();
  EXPECT_EQ(readText(*rebuilt / "index.py"), "def handler(e, c): return e\n");
  EXPECT_EQ(fs::status(*rebuilt / "bin/tool").permissions(), fs::perms(0755));

  ASSERT_TRUE(store->remove(hex).ok());
  EXPECT_EQ(contents(), std::vector<std::string>{});
  for (ErrorCode code : {store->materialize(hex).error().code, store->readZip(hex).error().code,
                         store->remove(hex).error().code}) {
    EXPECT_EQ(code, ErrorCode::kNotFound);
  }
  EXPECT_EQ(store->materialize("../../etc").error().code, ErrorCode::kInvalidParameter);
}

TEST_F(LocalCodeStoreTest, RefusedUploadsLeaveNothingBehind) {
  auto store = open();
  ASSERT_TRUE(store);
  struct Case {
    const char* what;
    std::string zip;
    ErrorCode code;
  };
  const Case cases[] = {
      {"path traversal", ZipBuilder().file("../evil", "x").build(), ErrorCode::kInvalidZipFile},
      {"absolute path", ZipBuilder().file("/etc/x", "x").build(), ErrorCode::kInvalidZipFile},
      {"symlink escape and write through it",
       ZipBuilder().symlink("pw", "../../etc/passwd").file("pw", "owned").build(),
       ErrorCode::kInvalidZipFile},
      {"not a zip", "#!/bin/sh\necho this is a script\n", ErrorCode::kInvalidZipFile},
      {"empty", "", ErrorCode::kInvalidZipFile},
      {"encrypted", ZipBuilder().file("a", "secret").encrypt("pw").build(),
       ErrorCode::kInvalidZipFile},
      {"over the zipped limit", std::string(kMaxZippedBytes + 1, 'z'), ErrorCode::kEntityTooLarge},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto r = store->put(c.zip);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, c.code) << r.error().toString();
    EXPECT_EQ(contents(), std::vector<std::string>{});
  }
  EXPECT_FALSE(fs::exists(dir_ / "evil"));
  EXPECT_FALSE(fs::exists(dir_ / "trees" / "evil"));
}

// 300 MB of zeros deflate to ~300 KB. With truthful headers the store refuses before inflating;
// with headers claiming 1 KB it must count while inflating and stop at 250 MB.
TEST_F(LocalCodeStoreTest, ZipBombsStopAtTheUnzippedLimit) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::string honest = ZipBuilder().file("a.txt", "a").zeros("bomb", 300'000'000).build();
  ASSERT_LT(honest.size(), 1'000'000u);
  const std::string liar = testing::withDeclaredSize(honest, "bomb", 1000);
  for (const std::string* zip : {&honest, &liar}) {
    const auto start = std::chrono::steady_clock::now();
    auto r = store->put(*zip);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
    EXPECT_EQ(r.error().message, "Unzipped size must be smaller than 262144000 bytes");
    EXPECT_EQ(contents(), std::vector<std::string>{});
    std::printf("zip bomb (%s headers) refused in %lld ms\n", zip == &honest ? "honest" : "lying",
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  }
}

TEST_F(LocalCodeStoreTest, ReopenKeepsCodeAndClearsCrashLeftovers) {
  std::string hex;
  {
    auto store = open();
    ASSERT_TRUE(store);
    auto info = store->put(sampleZip());
    ASSERT_TRUE(info.ok());
    hex = info->id;
    // One process per directory.
    auto second = openLocalCodeStore(dir_);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, ErrorCode::kIo);
  }
  // What a crash can leave: a half-extracted tree, a zip and a tree whose sidecar was never
  // written, a sidecar temporary.
  const std::string orphan(64, 'a');
  fs::create_directories(dir_ / "tmp" / "tree-123456" / "half");
  std::ofstream(dir_ / "zips" / (orphan + ".zip")) << "partial";
  fs::create_directories(dir_ / "trees" / orphan / "x");
  std::ofstream(dir_ / "zips" / (hex + ".json.tmp-0011223344556677")) << "{";

  auto store = open();
  ASSERT_TRUE(store);
  std::vector<std::string> top;  // everything but the tree's own contents
  for (const std::string& p : contents()) {
    if (!p.starts_with("trees/" + hex + "/")) top.push_back(p);
  }
  EXPECT_EQ(top, (std::vector<std::string>{"trees/" + hex, "zips/" + hex + ".json",
                                           "zips/" + hex + ".zip"}));
  auto again = store->put(sampleZip());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unzipped_bytes, 48u);
  auto zip = store->readZip(hex);
  ASSERT_TRUE(zip.ok());
  EXPECT_EQ(*zip, sampleZip());
}

TEST_F(LocalCodeStoreTest, ConcurrentIdenticalUploadsConverge) {
  auto store = open();
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  std::vector<std::string> ids(4);
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] {
      auto info = store->put(sampleZip());
      EXPECT_TRUE(info.ok());
      if (info.ok()) ids[i] = info->id;
      auto tree = store->materialize(ids[i]);
      EXPECT_TRUE(tree.ok());
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& id : ids) EXPECT_EQ(id, ids[0]);
  auto paths = contents();
  EXPECT_EQ(std::count_if(paths.begin(), paths.end(),
                          [](const std::string& p) { return p.starts_with("tmp/"); }),
            0);
}

}  // namespace
}  // namespace hearth::codestore
