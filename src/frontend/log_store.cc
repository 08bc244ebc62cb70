#include "frontend/log_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace hearth::frontend {

Result<void> LogStore::append(const std::string& account_id, const std::string& function_name,
                              const std::string& stream, std::string_view text) {
  // Stream names come from the worker ("YYYY/MM/DD/[$LATEST]hex"), never from a client.
  std::filesystem::path path = dir_ / account_id / function_name / (stream + ".log");
  auto it = open_.find(path);
  if (it == open_.end()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
      return makeError(ErrorCode::kIo,
                       "create " + path.parent_path().string() + ": " + ec.message());
    // SAFETY: open of a path under our own data directory; the fd is owned by open_.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd) return errnoError("open " + path.string(), errno);
    if (open_.size() >= kMaxOpenFiles) {
      open_.erase(order_.front());
      order_.pop_front();
    }
    it = open_.emplace(path, std::move(fd)).first;
    order_.push_back(path);
  }
  while (!text.empty()) {
    // SAFETY: writes from the caller's live buffer of the stated size.
    ssize_t n = ::write(it->second.get(), text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoError("write " + path.string(), errno);
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

void LogStore::closeFunction(const std::string& account_id, const std::string& function_name) {
  std::filesystem::path prefix = dir_ / account_id / function_name;
  for (auto it = order_.begin(); it != order_.end();) {
    auto [a, b] = std::mismatch(prefix.begin(), prefix.end(), it->begin(), it->end());
    if (a == prefix.end()) {
      open_.erase(*it);
      it = order_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace hearth::frontend
