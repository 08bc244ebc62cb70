#include "codestore/zip_archive.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "codestore/testing/zip_builder.h"

namespace hearth::codestore {
namespace {

namespace fs = std::filesystem;
using testing::ZipBuilder;

// What a tree holds: for each relative path, its type and mode, and a file's content or a
// link's target.
struct Node {
  char type;  // 'f', 'd', 'l'
  mode_t perm;
  std::string content;
  bool operator==(const Node&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Node& n) {
  return os << n.type << " " << std::oct << n.perm << std::dec << " '" << n.content << "'";
}

std::map<std::string, Node> snapshot(const fs::path& root) {
  std::map<std::string, Node> nodes;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    struct stat st {};
    EXPECT_EQ(::lstat(it->path().c_str(), &st), 0);
    Node node{'?', st.st_mode & 07777, ""};
    if (S_ISDIR(st.st_mode)) {
      node.type = 'd';
    } else if (S_ISLNK(st.st_mode)) {
      node.type = 'l';
      node.perm = 0;  // link permissions mean nothing on Linux
      node.content = fs::read_symlink(it->path()).string();
    } else if (S_ISREG(st.st_mode)) {
      node.type = 'f';
      std::ifstream in(it->path(), std::ios::binary);
      node.content.assign(std::istreambuf_iterator<char>(in), {});
    }
    nodes[it->path().lexically_relative(root).string()] = node;
  }
  return nodes;
}

class ZipArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hearth-zip-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dest_ = root_ / "tree";
    fs::create_directory(dest_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Expects extraction to fail with `code`, having created nothing outside dest_.
  void expectRefused(const std::string& zip, ErrorCode code, const ZipLimits& limits = {}) {
    auto r = extractZip(zip, dest_, limits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, code) << r.error().toString();
    std::vector<std::string> outside;
    for (const auto& e : fs::directory_iterator(root_)) outside.push_back(e.path().string());
    EXPECT_EQ(outside, std::vector<std::string>{dest_.string()});
    EXPECT_FALSE(fs::exists("/tmp/hearth-zip-escape"));
  }

  fs::path root_;
  fs::path dest_;
};

TEST_F(ZipArchiveTest, ExtractsTreeWithNormalisedPermissions) {
  const std::string zip = ZipBuilder()
                              .dir("lib/")
                              .file("lib/util.py", "def f(): pass\n", 0600)
                              .file("bin/run", "#!/bin/sh\n", 0700)
                              .file("handler.py", "import lib\n", 0666)
                              .file("a/b/c.txt", "deep")
                              .file("./dot/x", "x")
                              .file("win\\style.txt", "w")
                              .symlink("current", "lib")
                              .symlink("lib/handler", "../handler.py")
                              .file("empty", "")
                              .build();
  ::umask(077);  // must not leak into the tree's modes
  auto stats = extractZip(zip, dest_);
  ::umask(022);
  ASSERT_TRUE(stats.ok()) << stats.error().toString();
  EXPECT_EQ(stats->entries, 10u);
  EXPECT_EQ(stats->unzipped_bytes, 14u + 10u + 11u + 4u + 1u + 1u);

  const std::map<std::string, Node> expected = {
      {"lib", {'d', 0755, ""}},
      {"lib/util.py", {'f', 0644, "def f(): pass\n"}},
      {"lib/handler", {'l', 0, "../handler.py"}},
      {"bin", {'d', 0755, ""}},
      {"bin/run", {'f', 0755, "#!/bin/sh\n"}},
      {"handler.py", {'f', 0644, "import lib\n"}},  // 0666: no execute bit
      {"a", {'d', 0755, ""}},
      {"a/b", {'d', 0755, ""}},
      {"a/b/c.txt", {'f', 0644, "deep"}},
      {"dot", {'d', 0755, ""}},
      {"dot/x", {'f', 0644, "x"}},
      {"win", {'d', 0755, ""}},
      {"win/style.txt", {'f', 0644, "w"}},
      {"current", {'l', 0, "lib"}},
      {"empty", {'f', 0644, ""}},
  };
  EXPECT_EQ(snapshot(dest_), expected);
}

TEST_F(ZipArchiveTest, RefusesNamesThatLeaveTheTree) {
  for (const char* name : {"../hearth-zip-escape", "/tmp/hearth-zip-escape", "a/../../escape",
                           "a\\..\\..\\escape", "..", "\\escape"}) {
    SCOPED_TRACE(name);
    expectRefused(ZipBuilder().file("ok.txt", "fine").file(name, "evil").build(),
                  ErrorCode::kInvalidZipFile);
  }
}

TEST_F(ZipArchiveTest, RefusesSymlinksThatLeaveTheTreeAndWritesThroughLinks) {
  struct Case {
    const char* what;
    ZipBuilder zip;
  };
  Case cases[] = {
      {"relative escape, then a write through it",
       ZipBuilder().symlink("etc", "../../etc").file("etc/passwd", "root::0:0::/:/bin/sh\n")},
      {"escape to a file", ZipBuilder().symlink("lib/pw", "../../../etc/passwd")},
      {"absolute", ZipBuilder().symlink("etc", "/etc")},
      {"empty target", ZipBuilder().symlink("nothing", "")},
      {"'..' after a link", ZipBuilder().symlink("b", ".").symlink("a", "b/..")},
      {"'..' after a name", ZipBuilder().dir("d/").symlink("x", "d/../..")},
      {"write below an inside link",
       ZipBuilder().dir("sub/").symlink("lnk", "sub").file("lnk/x", "x")},
      {"write through a file", ZipBuilder().file("f", "x").file("f/g", "y")},
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.what);
    fs::remove_all(dest_);
    fs::create_directory(dest_);
    expectRefused(c.zip.build(), ErrorCode::kInvalidZipFile);
  }
  EXPECT_FALSE(fs::exists(root_ / "etc"));
}

TEST_F(ZipArchiveTest, RefusesSpecialFilesDuplicatesAndEncryption) {
  const std::string plain = ZipBuilder().file("x", "data").build();
  for (uint16_t type : {S_IFCHR, S_IFBLK, S_IFSOCK}) {
    SCOPED_TRACE(type);
    fs::remove_all(dest_);
    fs::create_directory(dest_);
    expectRefused(testing::withUnixMode(plain, type | 0644), ErrorCode::kInvalidZipFile);
  }
  // libarchive reads a FIFO-typed zip entry as a regular file with that data (Info-ZIP records
  // files zipped from a pipe that way); it must never become a FIFO on disk.
  fs::remove_all(dest_);
  fs::create_directory(dest_);
  auto fifo = extractZip(testing::withUnixMode(plain, S_IFIFO | 0644), dest_);
  ASSERT_TRUE(fifo.ok()) << fifo.error().toString();
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dest_ / "x")));
  EXPECT_EQ(fs::file_size(dest_ / "x"), 4u);
  fs::remove_all(dest_);
  fs::create_directory(dest_);
  expectRefused(ZipBuilder().file("x", "1").file("x", "2").build(), ErrorCode::kInvalidZipFile);

  fs::remove_all(dest_);
  fs::create_directory(dest_);
  auto r = extractZip(ZipBuilder().file("secret", "data").encrypt("pw").build(), dest_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidZipFile);
  EXPECT_NE(r.error().message.find("encrypted"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(dest_ / "secret"));
}

TEST_F(ZipArchiveTest, NonZipInputGetsLambdasMessage) {
  const std::string good = ZipBuilder().file("a", std::string(1000, 'a')).build();
  for (const std::string& input :
       {std::string(), std::string("just some text, not an archive"), std::string(4096, '\0'),
        good.substr(0, good.size() / 2), good.substr(good.size() / 2)}) {
    auto r = extractZip(input, dest_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidZipFile);
    EXPECT_EQ(r.error().message, kCouldNotUnzip);
  }
}

TEST_F(ZipArchiveTest, CountsInflatedBytesNotHeaders) {
  const ZipLimits limits{.max_unzipped_bytes = 1 << 20, .max_entries = kMaxZipEntries};
  // Exactly at the limit is fine.
  auto at_limit = extractZip(ZipBuilder().zeros("z", 1 << 20).build(), dest_, limits);
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().toString();
  EXPECT_EQ(at_limit->unzipped_bytes, 1u << 20);

  // Honest headers over the limit, spread over two files.
  fs::remove_all(dest_);
  fs::create_directory(dest_);
  const std::string over = ZipBuilder().zeros("a", 600 << 10).zeros("b", 600 << 10).build();
  expectRefused(over, ErrorCode::kInvalidParameter, limits);

  // Headers claiming 100 bytes for 8 MiB of zeros: caught by counting.
  fs::remove_all(dest_);
  fs::create_directory(dest_);
  const std::string liar =
      testing::withDeclaredSize(ZipBuilder().zeros("z", 8 << 20).build(), "z", 100);
  auto r = extractZip(liar, dest_, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter) << r.error().toString();
  EXPECT_EQ(r.error().message, "Unzipped size must be smaller than 1048576 bytes");
  EXPECT_LE(fs::file_size(dest_ / "z"), uintmax_t{1} << 20);  // stopped at the limit
}

TEST_F(ZipArchiveTest, LimitsEntryCount) {
  ZipBuilder builder;
  for (int i = 0; i < 11; ++i) builder.file("f" + std::to_string(i), "x");
  const std::string zip = builder.build();
  expectRefused(zip, ErrorCode::kInvalidZipFile, ZipLimits{.max_entries = 10});
  fs::remove_all(dest_);
  fs::create_directory(dest_);
  auto ok = extractZip(zip, dest_, ZipLimits{.max_entries = 11});
  ASSERT_TRUE(ok.ok()) << ok.error().toString();
  EXPECT_EQ(ok->entries, 11u);
}

}  // namespace
}  // namespace hearth::codestore
