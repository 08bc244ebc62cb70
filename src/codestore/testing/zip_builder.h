// Test helper: builds zip archives in memory with libarchive's writer, and patches built ones
// into the malformed shapes an attacker would upload (lying sizes, odd file types).
//
// Not thread-safe per builder; builders are independent. Failures inside libarchive abort the
// test binary (CHECK): they are bugs in the test, not conditions under test.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hearth::codestore::testing {

class ZipBuilder {
 public:
  ZipBuilder& file(std::string name, std::string data, mode_t perm = 0644);
  // A regular file of `size` zero bytes, generated while writing (never held in memory).
  ZipBuilder& zeros(std::string name, uint64_t size);
  ZipBuilder& dir(std::string name);
  ZipBuilder& symlink(std::string name, std::string target);
  // Encrypts every entry with traditional PKWARE encryption under `passphrase`.
  ZipBuilder& encrypt(std::string passphrase);

  std::string build() const;

 private:
  struct Entry {
    std::string name;
    mode_t type;
    mode_t perm;
    std::string data;  // file content, or symlink target
    uint64_t zeros = 0;
  };
  std::vector<Entry> entries_;
  std::string passphrase_;
};

// Rewrites the uncompressed size of entry `name`, wherever the archive records it (central
// directory, local header, data descriptor), to `size`: a zip whose headers lie.
std::string withDeclaredSize(std::string zip, const std::string& name, uint32_t size);

// Rewrites the Unix mode (type and permissions) the central directory records for every entry.
std::string withUnixMode(std::string zip, uint16_t mode);

}  // namespace hearth::codestore::testing
