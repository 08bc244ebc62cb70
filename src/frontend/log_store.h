// Function logs on disk, the way Lambda keeps them in CloudWatch Logs: one log group per
// function, one log stream per execution environment.
//
//   <dir>/<account_id>/<function name>/<YYYY>/<MM>/<DD>/[$LATEST]<hex>.log
//
// (the stream name is AWS_LAMBDA_LOG_STREAM_NAME, "YYYY/MM/DD/[$LATEST]<hex>"). Lines are
// appended as the frontend reports each invocation: START, the function's output, END, REPORT.
//
// Thread-safety: none; used on the data-plane thread. Writes are small appends to the page
// cache; they are not fsynced (logs are diagnostics, not acknowledged data).
#pragma once

#include <filesystem>
#include <list>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::frontend {

class LogStore {
 public:
  explicit LogStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

  Result<void> append(const std::string& account_id, const std::string& function_name,
                      const std::string& stream, std::string_view text);

  // Drops every stream of the function (DeleteFunction keeps logs on Lambda; so do we: this only
  // closes cached descriptors).
  void closeFunction(const std::string& account_id, const std::string& function_name);

 private:
  static constexpr size_t kMaxOpenFiles = 256;
  std::filesystem::path dir_;
  std::map<std::filesystem::path, UniqueFd> open_;  // bounded by kMaxOpenFiles
  std::list<std::filesystem::path> order_;          // open_ keys, oldest first
};

}  // namespace hearth::frontend
