// RecordingSink: a TreeSink for tests that writes down every call it receives, in order, as one
// line each, and can be told to fail a call. Header-only.
//
//   "layer"                       beginLayer()
//   "dir app"                     addDirectory("app")
//   "file app/run 755 <content>"  addFile (755 if executable, else 644), content read to the end
//   "symlink app/link -> run"     addSymlink
//   "hardlink app/hard -> app/run" addHardLink
//   "remove etc/old"              remove
//   "clear var/cache"             clearDirectory
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codestore/tree_sink.h"

namespace hearth::codestore::oci::testing {

class RecordingSink : public TreeSink {
 public:
  std::vector<std::string> calls;
  // When set, the call whose line starts with this fails with kInvalidParameter.
  std::string fail_on;

  void beginLayer() override { calls.push_back("layer"); }
  Result<void> addDirectory(std::string_view path) override {
    return record("dir " + std::string(path));
  }
  Result<void> addFile(std::string_view path, bool executable, FileSource& content) override {
    std::string data;
    char buf[7];  // small, so that reads are exercised in pieces
    for (;;) {
      Result<size_t> n = content.read(buf, sizeof(buf));
      if (!n) return std::move(n).error();
      if (*n == 0) break;
      data.append(buf, *n);
    }
    return record("file " + std::string(path) + (executable ? " 755 " : " 644 ") + data);
  }
  Result<void> addSymlink(std::string_view path, std::string_view target) override {
    return record("symlink " + std::string(path) + " -> " + std::string(target));
  }
  Result<void> addHardLink(std::string_view path, std::string_view target) override {
    return record("hardlink " + std::string(path) + " -> " + std::string(target));
  }
  Result<void> remove(std::string_view path) override {
    return record("remove " + std::string(path));
  }
  Result<void> clearDirectory(std::string_view path) override {
    return record("clear " + std::string(path));
  }

 private:
  Result<void> record(std::string line) {
    if (!fail_on.empty() && line.starts_with(fail_on)) {
      return makeError(ErrorCode::kInvalidParameter, "RecordingSink refuses: " + line);
    }
    calls.push_back(std::move(line));
    return {};
  }
};

}  // namespace hearth::codestore::oci::testing
