#include "codestore/oci/layer_flattener.h"

#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include <memory>
#include <string>
#include <vector>

#include "codestore/oci/testing/recording_sink.h"

namespace hearth::codestore::oci {
namespace {

using ::testing::ElementsAre;
using testing::RecordingSink;

struct TarEntry {
  std::string name = {};
  mode_t type = AE_IFREG;
  int perm = 0644;
  std::string content = {};
  std::string link = {};  // symlink target, or hard link target when `hard`
  bool hard = false;
};

la_ssize_t appendToString(archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// A PAX tar of `entries`, gzip-compressed if asked; libarchive writes it as image builders do.
std::string makeTar(const std::vector<TarEntry>& entries, bool gzip) {
  std::string out;
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            &archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  if (gzip) archive_write_add_filter_gzip(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  EXPECT_EQ(archive_write_open(a.get(), &out, nullptr, appendToString, nullptr), ARCHIVE_OK);
  for (const TarEntry& e : entries) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                        &archive_entry_free);
    archive_entry_set_pathname(entry.get(), e.name.c_str());
    archive_entry_set_filetype(entry.get(), e.type);
    archive_entry_set_perm(entry.get(), e.perm);
    if (e.hard) {
      archive_entry_set_hardlink(entry.get(), e.link.c_str());
    } else if (e.type == AE_IFLNK) {
      archive_entry_set_symlink(entry.get(), e.link.c_str());
    }
    if (e.type == AE_IFREG && !e.hard) archive_entry_set_size(entry.get(), e.content.size());
    if (e.type == AE_IFCHR) archive_entry_set_rdev(entry.get(), makedev(1, 3));
    EXPECT_EQ(archive_write_header(a.get(), entry.get()), ARCHIVE_OK) << e.name;
    if (!e.content.empty()) {
      EXPECT_EQ(archive_write_data(a.get(), e.content.data(), e.content.size()),
                static_cast<la_ssize_t>(e.content.size()));
    }
  }
  EXPECT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
  return out;
}

TEST(FlattenLayer, EntriesWithNamesNormalised) {
  for (bool gzip : {false, true}) {
    const std::string tar = makeTar(
        {
            {.name = "./", .type = AE_IFDIR, .perm = 0755},
            {.name = "./app/", .type = AE_IFDIR, .perm = 0755},
            {.name = "./app/run", .perm = 0750, .content = "#!/bin/sh\necho hello world\n"},
            {.name = "/app/data.txt", .perm = 0600, .content = "data"},
            {.name = "app/empty", .content = ""},
            {.name = "./app/link", .type = AE_IFLNK, .perm = 0777, .link = "run"},
            {.name = "./app/hard", .link = "./app/run", .hard = true},
            {.name = "abs", .type = AE_IFLNK, .perm = 0777, .link = "/etc/passwd"},
        },
        gzip);
    RecordingSink sink;
    Result<LayerStats> stats = flattenLayer(tar, "layer 1", sink);
    ASSERT_TRUE(stats) << stats.error().toString();
    EXPECT_THAT(
        sink.calls,
        ElementsAre("layer", "dir app", "file app/run 755 #!/bin/sh\necho hello world\n",
                    "file app/data.txt 644 data", "file app/empty 644 ", "symlink app/link -> run",
                    "hardlink app/hard -> app/run", "symlink abs -> /etc/passwd"))
        << "gzip " << gzip;
    EXPECT_EQ(stats->entries, 8u);
    EXPECT_EQ(stats->whiteouts, 0u);
    EXPECT_EQ(stats->skipped, 0u);
  }
}

TEST(FlattenLayer, WhiteoutsBecomeRemoveAndClear) {
  const std::string tar = makeTar(
      {
          {.name = "./etc/.wh.old"},
          {.name = "/.wh.top"},
          {.name = "var/cache/.wh..wh..opq"},
          {.name = "var/cache/new", .content = "n"},
          {.name = "./.wh..wh..opq"},
          {.name = "dir/.wh..wh.plnk", .type = AE_IFDIR, .perm = 0700},
      },
      true);
  RecordingSink sink;
  Result<LayerStats> stats = flattenLayer(tar, "layer 2", sink);
  ASSERT_TRUE(stats) << stats.error().toString();
  EXPECT_THAT(sink.calls, ElementsAre("layer", "remove etc/old", "remove top", "clear var/cache",
                                      "file var/cache/new 644 n", "clear "));
  EXPECT_EQ(stats->whiteouts, 4u);
  EXPECT_EQ(stats->skipped, 1u);  // AUFS hard-link metadata
}

TEST(FlattenLayer, SkipsDevicesFifosAndSockets) {
  const std::string tar = makeTar(
      {
          {.name = "dev/null", .type = AE_IFCHR, .perm = 0666},
          {.name = "dev/sda", .type = AE_IFBLK, .perm = 0660},
          {.name = "run/fifo", .type = AE_IFIFO},
          {.name = "kept", .content = "k"},
      },
      false);
  RecordingSink sink;
  Result<LayerStats> stats = flattenLayer(tar, "layer 1", sink);
  ASSERT_TRUE(stats) << stats.error().toString();
  EXPECT_THAT(sink.calls, ElementsAre("layer", "file kept 644 k"));
  EXPECT_EQ(stats->skipped, 3u);
  EXPECT_EQ(stats->entries, 4u);
}

TEST(FlattenLayer, RefusesWhiteoutsWithoutAName) {
  for (const char* name : {"dir/.wh.", "./.wh..", "a/.wh..."}) {
    RecordingSink sink;
    Result<LayerStats> stats = flattenLayer(makeTar({{.name = name}}, false), "layer 3", sink);
    ASSERT_FALSE(stats) << name;
    EXPECT_EQ(stats.error().code, ErrorCode::kInvalidParameter);
    EXPECT_NE(stats.error().message.find("layer 3"), std::string::npos);
  }
}

TEST(FlattenLayer, EmptyBlobIsAnEmptyLayer) {
  RecordingSink sink;
  Result<LayerStats> stats = flattenLayer("", "layer 1", sink);
  ASSERT_TRUE(stats) << stats.error().toString();
  EXPECT_THAT(sink.calls, ElementsAre("layer"));
  // So is an empty tar archive (two zero blocks).
  sink.calls.clear();
  ASSERT_TRUE(flattenLayer(makeTar({}, true), "layer 1", sink));
  EXPECT_THAT(sink.calls, ElementsAre("layer"));
}

TEST(FlattenLayer, RefusesZstdAndGarbage) {
  RecordingSink sink;
  Result<LayerStats> zstd =
      flattenLayer(std::string("\x28\xb5\x2f\xfd\x00\x00", 6), "layer 1", sink);
  ASSERT_FALSE(zstd);
  EXPECT_EQ(zstd.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(zstd.error().message.find("zstd"), std::string::npos);

  Result<LayerStats> garbage = flattenLayer(std::string(1000, 'x'), "layer 2", sink);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidParameter);
  EXPECT_NE(garbage.error().message.find("layer 2"), std::string::npos);

  // A gzip stream cut short fails where the data runs out, whatever was fed before.
  const std::string tar =
      makeTar({{.name = "big", .content = std::string(200000, 'z') + "end"}}, true);
  Result<LayerStats> truncated = flattenLayer(tar.substr(0, tar.size() / 2), "layer 3", sink);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, ErrorCode::kInvalidParameter);
}

TEST(FlattenLayer, SinkErrorsStopTheLayer) {
  RecordingSink sink;
  sink.fail_on = "file b";
  const std::string tar =
      makeTar({{.name = "a", .content = "1"}, {.name = "b", .content = "2"}, {.name = "c"}}, true);
  Result<LayerStats> stats = flattenLayer(tar, "layer 1", sink);
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find("RecordingSink refuses"), std::string::npos);
  EXPECT_THAT(sink.calls, ElementsAre("layer", "file a 644 1"));
}

}  // namespace
}  // namespace hearth::codestore::oci
