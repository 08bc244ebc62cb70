#include "codestore/testing/zip_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cstring>
#include <memory>

#include "common/check.h"

namespace hearth::codestore::testing {
namespace {

uint32_t le32(const std::string& s, size_t at) {
  CHECK(at + 4 <= s.size());
  return static_cast<uint32_t>(static_cast<uint8_t>(s[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3])) << 24;
}
uint16_t le16(const std::string& s, size_t at) {
  CHECK(at + 2 <= s.size());
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) | static_cast<uint8_t>(s[at + 1]) << 8);
}
void put32(std::string& s, size_t at, uint32_t v) {
  CHECK(at + 4 <= s.size());
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kDescriptorSig = 0x08074b50;

// Calls fn(offset) for each central directory header.
template <typename Fn>
void forEachCentralHeader(const std::string& zip, Fn fn) {
  CHECK(zip.size() >= 22);
  size_t eocd = zip.size() - 22;  // the builder writes no archive comment
  CHECK(le32(zip, eocd) == kEocdSig);
  const uint16_t count = le16(zip, eocd + 10);
  size_t at = le32(zip, eocd + 16);
  for (uint16_t i = 0; i < count; ++i) {
    CHECK(le32(zip, at) == kCentralSig);
    fn(at);
    at += 46 + le16(zip, at + 28) + le16(zip, at + 30) + le16(zip, at + 32);
  }
}

la_ssize_t appendToString(archive*, void* client, const void* buf, size_t n) {
  // SAFETY: client is the std::string passed to archive_write_open2 in build(), alive
  // throughout; buf holds n bytes.
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

}  // namespace

ZipBuilder& ZipBuilder::file(std::string name, std::string data, mode_t perm) {
  entries_.push_back({std::move(name), AE_IFREG, perm, std::move(data)});
  return *this;
}
ZipBuilder& ZipBuilder::zeros(std::string name, uint64_t size) {
  entries_.push_back({std::move(name), AE_IFREG, 0644, {}, size});
  return *this;
}
ZipBuilder& ZipBuilder::dir(std::string name) {
  entries_.push_back({std::move(name), AE_IFDIR, 0755, {}});
  return *this;
}
ZipBuilder& ZipBuilder::symlink(std::string name, std::string target) {
  entries_.push_back({std::move(name), AE_IFLNK, 0777, std::move(target)});
  return *this;
}
ZipBuilder& ZipBuilder::encrypt(std::string passphrase) {
  passphrase_ = std::move(passphrase);
  return *this;
}

std::string ZipBuilder::build() const {
  std::string out;
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            &archive_write_free);
  CHECK(archive_write_set_format_zip(a.get()) == ARCHIVE_OK);
  CHECK(archive_write_set_options(a.get(), "zip:compression=deflate") == ARCHIVE_OK);
  if (!passphrase_.empty()) {
    CHECK(archive_write_set_options(a.get(), "zip:encryption=zipcrypt") == ARCHIVE_OK);
    CHECK(archive_write_set_passphrase(a.get(), passphrase_.c_str()) == ARCHIVE_OK);
  }
  CHECK(archive_write_set_bytes_in_last_block(a.get(), 1) == ARCHIVE_OK);
  CHECK(archive_write_open2(a.get(), &out, nullptr, appendToString, nullptr, nullptr) ==
        ARCHIVE_OK);
  for (const Entry& e : entries_) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                        &archive_entry_free);
    archive_entry_set_pathname(entry.get(), e.name.c_str());
    archive_entry_set_filetype(entry.get(), e.type);
    archive_entry_set_perm(entry.get(), e.perm);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry.get(), e.data.c_str());
    const uint64_t size = e.type == AE_IFREG ? (e.zeros != 0 ? e.zeros : e.data.size()) : 0;
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    CHECK(archive_write_header(a.get(), entry.get()) == ARCHIVE_OK);
    if (e.type != AE_IFREG) continue;
    if (e.zeros == 0) {
      CHECK(archive_write_data(a.get(), e.data.data(), e.data.size()) ==
            static_cast<la_ssize_t>(e.data.size()));
      continue;
    }
    static const std::string kZeros(1 << 20, '\0');
    for (uint64_t left = e.zeros; left > 0;) {
      size_t n = left < kZeros.size() ? left : kZeros.size();
      CHECK(archive_write_data(a.get(), kZeros.data(), n) == static_cast<la_ssize_t>(n));
      left -= n;
    }
  }
  CHECK(archive_write_close(a.get()) == ARCHIVE_OK);
  return out;
}

std::string withDeclaredSize(std::string zip, const std::string& name, uint32_t size) {
  bool found = false;
  forEachCentralHeader(zip, [&](size_t cd) {
    if (zip.compare(cd + 46, le16(zip, cd + 28), name) != 0) return;
    found = true;
    put32(zip, cd + 24, size);
    const size_t local = le32(zip, cd + 42);
    CHECK(le32(zip, local) == kLocalSig);
    // libarchive's writer fills the local header's size even when a data descriptor follows.
    put32(zip, local + 22, size);
    if ((le16(zip, local + 6) & 0x8) == 0) return;
    // Sizes also follow the data, in a data descriptor (with or without its signature).
    size_t desc = local + 30 + le16(zip, local + 26) + le16(zip, local + 28) + le32(zip, cd + 20);
    if (le32(zip, desc) == kDescriptorSig) desc += 4;
    put32(zip, desc + 8, size);
  });
  CHECK(found);
  return zip;
}

std::string withUnixMode(std::string zip, uint16_t mode) {
  forEachCentralHeader(zip, [&](size_t cd) {
    CHECK(le16(zip, cd + 4) >> 8 == 3);  // "version made by": Unix, so the mode is read
    put32(zip, cd + 38, static_cast<uint32_t>(mode) << 16 | (le32(zip, cd + 38) & 0xffff));
  });
  return zip;
}

}  // namespace hearth::codestore::testing
