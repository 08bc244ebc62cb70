#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

namespace hearth::sandbox {
namespace fs = std::filesystem;
namespace {

constexpr std::array<std::string_view, 3> kV1Controllers = {"memory", "cpu", "pids"};
constexpr uint64_t kCpuPeriodMicros = 100'000;
constexpr uint64_t kMinCpuQuotaMicros = 1'000;  // the kernel's minimum cfs quota
constexpr auto kRemoveTimeout = std::chrono::seconds(1);

Error cgroupError(const std::string& what, int err) {
  return errnoError("cgroup: " + what, err, ErrorCode::kSandbox);
}

Result<std::string> readFile(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return cgroupError("open " + path.string(), errno);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cgroupError("read " + path.string(), errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<void> writeFile(const fs::path& path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return cgroupError("open " + path.string(), errno);
  // cgroup files take one value per write(2); a short write is an error, not a partial value.
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return cgroupError("write '" + std::string(value) + "' to " + path.string(), errno);
  if (static_cast<size_t>(n) != value.size()) {
    return cgroupError("short write to " + path.string(), EIO);
  }
  return {};
}

bool pathExists(const fs::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<uint64_t> readNumber(const fs::path& path) {
  auto text = readFile(path);
  if (!text) return std::move(text).error();
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text->c_str(), &end, 10);
  if (errno != 0 || end == text->c_str()) return cgroupError("parse " + path.string(), EINVAL);
  return static_cast<uint64_t>(v);
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

bool contains(const std::vector<std::string>& items, std::string_view item) {
  for (const auto& i : items) {
    if (i == item) return true;
  }
  return false;
}

struct CgroupMount {
  bool v2 = false;
  std::vector<std::string> controllers;  // v1: from the super options
  fs::path mount_point;
  std::string root;  // the hierarchy path mounted there (not "/" inside a cgroup namespace)
};

Result<std::vector<CgroupMount>> cgroupMounts() {
  auto text = readFile("/proc/self/mountinfo");
  if (!text) return std::move(text).error();
  std::vector<CgroupMount> mounts;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    // "id parent major:minor root mount-point options [optional...] - fstype source superopts"
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto head = split(line.substr(0, dash), ' ');
    auto tail = split(line.substr(dash + 3), ' ');
    if (head.size() < 5 || tail.size() < 3) continue;
    if (tail[0] != "cgroup" && tail[0] != "cgroup2") continue;
    CgroupMount m;
    m.v2 = tail[0] == "cgroup2";
    if (!m.v2) m.controllers = split(tail[2], ',');
    m.root = head[3];
    m.mount_point = head[4];
    mounts.push_back(std::move(m));
  }
  return mounts;
}

// The directory of our own cgroup: mount point + (our path relative to the mounted root).
fs::path ownDir(const CgroupMount& mount, const std::string& own_path) {
  std::string rel = own_path;
  if (mount.root != "/" && rel.rfind(mount.root, 0) == 0) rel = rel.substr(mount.root.size());
  fs::path dir = mount.mount_point;
  if (!rel.empty() && rel != "/") dir /= fs::path(rel).relative_path();
  return dir;
}

// Removes the cgroups of daemons that died without cleaning up: siblings of `parent` named
// "hearth-<pid>" whose pid is not a live process. Their sandboxes' processes are gone (each
// sandbox's init exits when its daemon's channel closes), so their directories are empty; one
// that still holds a process refuses rmdir (EBUSY) and is left alone.
void reapStaleSiblings(const fs::path& parent) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(parent.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    constexpr std::string_view kPrefix = "hearth-";
    if (entry.path() == parent || !name.starts_with(kPrefix) || name.size() == kPrefix.size() ||
        name.find_first_not_of("0123456789", kPrefix.size()) != std::string::npos ||
        !entry.is_directory(ec)) {
      continue;
    }
    if (pathExists(fs::path("/proc") / name.substr(kPrefix.size()))) continue;  // still alive
    for (const fs::directory_entry& child : fs::directory_iterator(entry.path(), ec)) {
      // SAFETY: rmdir of a cgroup directory; the kernel refuses one with processes or children.
      if (child.is_directory(ec)) ::rmdir(child.path().c_str());
    }
    // SAFETY: as above.
    ::rmdir(entry.path().c_str());
  }
}

Result<void> makeDir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return cgroupError("mkdir " + dir.string(), errno);
  }
  return {};
}

// Removes `dir`, retrying while the kernel still holds exiting tasks in it.
Result<void> removeDir(const fs::path& dir) {
  const auto deadline = std::chrono::steady_clock::now() + kRemoveTimeout;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY || std::chrono::steady_clock::now() >= deadline) {
      return cgroupError("rmdir " + dir.string(), errno);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Result<std::shared_ptr<const CgroupHost>> detectV1(const std::vector<CgroupMount>& mounts,
                                                   const std::string& own_cgroups,
                                                   const std::string& parent_name) {
  std::vector<fs::path> parents;
  for (std::string_view ctrl : kV1Controllers) {
    const CgroupMount* mount = nullptr;
    for (const auto& m : mounts) {
      if (!m.v2 && contains(m.controllers, ctrl)) mount = &m;
    }
    if (mount == nullptr) {
      return makeError(ErrorCode::kSandbox, "cgroup: no cgroup v1 hierarchy with the " +
                                                std::string(ctrl) + " controller is mounted");
    }
    // /proc/self/cgroup: "hierarchy-id:controller,list:/path".
    std::string own_path;
    std::istringstream in(own_cgroups);
    std::string line;
    while (std::getline(in, line)) {
      auto fields = split(line, ':');
      if (fields.size() >= 3 && contains(split(fields[1], ','), ctrl)) {
        own_path = line.substr(fields[0].size() + fields[1].size() + 2);
      }
    }
    if (own_path.empty()) {
      return makeError(ErrorCode::kSandbox,
                       "cgroup: /proc/self/cgroup has no " + std::string(ctrl) + " entry");
    }
    fs::path parent = ownDir(*mount, own_path) / parent_name;
    HEARTH_TRY(makeDir(parent));
    reapStaleSiblings(parent);
    parents.push_back(std::move(parent));
  }
  // Hierarchical accounting is what makes the parent's figures include the sandboxes; it is
  // the only mode on current kernels, but an old host may still have it off.
  auto hierarchy = readNumber(parents[0] / "memory.use_hierarchy");
  if (hierarchy && *hierarchy == 0) {
    HEARTH_TRY(writeFile(parents[0] / "memory.use_hierarchy", "1"));
  }
  return std::make_shared<const CgroupHost>(CgroupVersion::kV1, std::move(parents));
}

Result<std::shared_ptr<const CgroupHost>> detectV2(const CgroupMount& mount,
                                                   const std::string& own_cgroups,
                                                   const std::string& parent_name) {
  std::string own_path;
  std::istringstream in(own_cgroups);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) own_path = line.substr(3);
  }
  if (own_path.empty()) {
    return makeError(ErrorCode::kSandbox, "cgroup: /proc/self/cgroup has no cgroup v2 entry");
  }
  fs::path own = ownDir(mount, own_path);
  auto available = readFile(own / "cgroup.controllers");
  if (!available) return std::move(available).error();
  std::vector<std::string> have = split(*available, ' ');
  for (auto& c : have) {
    while (!c.empty() && c.back() == '\n') c.pop_back();
  }
  for (std::string_view ctrl : kV1Controllers) {
    if (!contains(have, ctrl)) {
      return makeError(ErrorCode::kSandbox, "cgroup: the " + std::string(ctrl) +
                                                " controller is not delegated to " + own.string());
    }
  }
  // The no-internal-processes rule: controllers can be enabled for children only in a cgroup
  // without processes of its own (or the root). Under systemd that means Delegate=yes with
  // hearthd in a leaf below its service cgroup.
  auto enabled = writeFile(own / "cgroup.subtree_control", "+memory +cpu +pids");
  if (!enabled) {
    return makeError(ErrorCode::kSandbox,
                     enabled.error().message +
                         " (hearthd's cgroup must have no processes of its own on cgroup v2; "
                         "run it in a leaf of a delegated subtree)");
  }
  fs::path parent = own / parent_name;
  HEARTH_TRY(makeDir(parent));
  reapStaleSiblings(parent);
  HEARTH_TRY(writeFile(parent / "cgroup.subtree_control", "+memory +cpu +pids"));
  return std::make_shared<const CgroupHost>(CgroupVersion::kV2, std::vector<fs::path>{parent});
}

}  // namespace

Result<std::shared_ptr<const CgroupHost>> CgroupHost::detect(const std::string& parent_name) {
  auto mounts = cgroupMounts();
  if (!mounts) return std::move(mounts).error();
  auto own = readFile("/proc/self/cgroup");
  if (!own) return std::move(own).error();

  // A v1 memory hierarchy means a legacy or hybrid host; the v2 tree there has no controllers.
  for (const auto& m : *mounts) {
    if (!m.v2 && contains(m.controllers, "memory")) return detectV1(*mounts, *own, parent_name);
  }
  for (const auto& m : *mounts) {
    if (m.v2) return detectV2(m, *own, parent_name);
  }
  return makeError(ErrorCode::kSandbox, "cgroup: neither cgroup v1 nor v2 is mounted");
}

CgroupHost::~CgroupHost() {
  for (const auto& dir : parents_) ::rmdir(dir.c_str());  // EBUSY while sandboxes remain: fine
}

Result<std::unique_ptr<SandboxCgroup>> CgroupHost::create(const std::string& name,
                                                          const CgroupLimits& limits) const {
  std::vector<fs::path> dirs;
  for (const auto& parent : parents_) dirs.push_back(parent / name);
  auto cgroup = std::make_unique<SandboxCgroup>(version_, dirs);
  for (const auto& dir : dirs) {
    if (::mkdir(dir.c_str(), 0755) != 0) return cgroupError("mkdir " + dir.string(), errno);
  }
  // From here on `cgroup`'s destructor removes the directories if a limit cannot be applied.
  const std::string memory = std::to_string(limits.memory_bytes);
  const std::string pids = std::to_string(limits.pids_max);
  if (version_ == CgroupVersion::kV1) {
    const fs::path& mem = dirs[0];
    HEARTH_TRY(writeFile(mem / "memory.limit_in_bytes", memory));
    // memory+swap: present when the kernel accounts swap; equal to the memory limit = no swap.
    if (pathExists(mem / "memory.memsw.limit_in_bytes")) {
      HEARTH_TRY(writeFile(mem / "memory.memsw.limit_in_bytes", memory));
    }
    HEARTH_TRY(writeFile(mem / "memory.swappiness", "0"));
    HEARTH_TRY(writeFile(dirs[2] / "pids.max", pids));
  } else {
    const fs::path& dir = dirs[0];
    HEARTH_TRY(writeFile(dir / "memory.max", memory));
    if (pathExists(dir / "memory.swap.max")) HEARTH_TRY(writeFile(dir / "memory.swap.max", "0"));
    // The OOM killer takes the whole sandbox, never half a runtime.
    HEARTH_TRY(writeFile(dir / "memory.oom.group", "1"));
    HEARTH_TRY(writeFile(dir / "pids.max", pids));
  }
  HEARTH_TRY(cgroup->setCpus(limits.cpus));
  return cgroup;
}

Result<void> ControlFile::ensureOpen() {
  if (fd_) return {};
  // SAFETY: open of a cgroup control file we created; the fd is owned by fd_.
  fd_.reset(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd_ && errno == EACCES) fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_) return cgroupError("open " + path_.string(), errno);
  return {};
}

Result<std::string_view> ControlFile::read() {
  HEARTH_TRY(ensureOpen());
  buf_.resize(4096);
  size_t used = 0;
  for (;;) {
    if (used == buf_.size()) buf_.resize(buf_.size() * 2);
    // SAFETY: reads into the unused tail of buf_, whose size bounds the count.
    ssize_t n =
        ::pread(fd_.get(), buf_.data() + used, buf_.size() - used, static_cast<off_t>(used));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cgroupError("read " + path_.string(), errno);
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  return std::string_view(buf_.data(), used);
}

Result<void> ControlFile::write(std::string_view value) {
  HEARTH_TRY(ensureOpen());
  // SAFETY: writes from the caller's live buffer of the stated size.
  ssize_t n = ::pwrite(fd_.get(), value.data(), value.size(), 0);
  if (n < 0) return cgroupError("write '" + std::string(value) + "' to " + path_.string(), errno);
  if (static_cast<size_t>(n) != value.size())
    return cgroupError("short write to " + path_.string(), EIO);
  return {};
}

namespace {

Result<uint64_t> parseNumber(std::string_view text, const fs::path& path) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
    v = v * 10 + uint64_t(text[i] - '0');
  if (i == 0) return cgroupError("parse " + path.string(), EINVAL);
  return v;
}

// The value of `key` in flat keyed text ("key value" lines), 0 when absent.
uint64_t keyedValue(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
      uint64_t v = 0;
      for (char c : line.substr(key.size() + 1)) {
        if (c < '0' || c > '9') break;
        v = v * 10 + uint64_t(c - '0');
      }
      return v;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return 0;
}

}  // namespace

SandboxCgroup::SandboxCgroup(CgroupVersion version, std::vector<fs::path> dirs)
    : version_(version),
      dirs_(std::move(dirs)),
      peak_(dirs_[0] /
            (version == CgroupVersion::kV1 ? "memory.max_usage_in_bytes" : "memory.peak")),
      current_(dirs_[0] /
               (version == CgroupVersion::kV1 ? "memory.usage_in_bytes" : "memory.current")),
      events_(dirs_[0] / (version == CgroupVersion::kV1 ? "memory.oom_control" : "memory.events")),
      stat_(dirs_[0] / "memory.stat") {}

SandboxCgroup::~SandboxCgroup() {
  if (!dirs_.empty()) (void)remove();
}

Result<void> SandboxCgroup::setCpus(double cpus) {
  if (cpus <= 0) {  // unlimited
    if (version_ == CgroupVersion::kV1) return writeFile(dirs_[1] / "cpu.cfs_quota_us", "-1");
    return writeFile(dirs_[0] / "cpu.max", "max " + std::to_string(kCpuPeriodMicros));
  }
  const uint64_t quota = std::max<uint64_t>(
      kMinCpuQuotaMicros,
      static_cast<uint64_t>(std::llround(cpus * static_cast<double>(kCpuPeriodMicros))));
  if (version_ == CgroupVersion::kV1) {
    HEARTH_TRY(writeFile(dirs_[1] / "cpu.cfs_period_us", std::to_string(kCpuPeriodMicros)));
    return writeFile(dirs_[1] / "cpu.cfs_quota_us", std::to_string(quota));
  }
  return writeFile(dirs_[0] / "cpu.max",
                   std::to_string(quota) + " " + std::to_string(kCpuPeriodMicros));
}

Result<void> SandboxCgroup::attach(pid_t pid) {
  const std::string text = std::to_string(pid);
  for (const auto& dir : dirs_) HEARTH_TRY(writeFile(dir / "cgroup.procs", text));
  return {};
}

namespace {

// The kernel charges page cache (files the function wrote, /tmp included) to its cgroup, and the
// peak counters include it; Lambda's Max Memory Used does not, and page cache is reclaimable, so
// it never causes an OOM kill. The cache held now is subtracted from the peak: exact when the
// cache only grew during the window (a function writing /tmp), an underestimate by at most the
// cache dropped meanwhile otherwise. Never below what the function holds now.
uint64_t withoutCache(uint64_t peak, uint64_t current, uint64_t cache) {
  uint64_t held_now = current - std::min(current, cache);
  uint64_t peak_without = peak - std::min(peak, cache);
  return std::max(peak_without, held_now);
}

}  // namespace

Result<Usage> SandboxCgroup::usage() {
  Result<std::string_view> current_text = current_.read();
  if (!current_text) return std::move(current_text).error();
  Result<uint64_t> current = parseNumber(*current_text, current_.path());
  if (!current) return std::move(current).error();
  // Kernels before 5.19 keep no peak on v2: the current value is the best we have.
  uint64_t peak = *current;
  if (version_ == CgroupVersion::kV1 || pathExists(peak_.path())) {
    Result<std::string_view> peak_text = peak_.read();
    if (!peak_text) return std::move(peak_text).error();
    Result<uint64_t> p = parseNumber(*peak_text, peak_.path());
    if (!p) return std::move(p).error();
    peak = *p;
  }
  Result<std::string_view> events = events_.read();
  if (!events) return std::move(events).error();
  Usage u;
  u.oom_killed = keyedValue(*events, "oom_kill") > 0;
  Result<std::string_view> stat = stat_.read();
  if (!stat) return std::move(stat).error();
  uint64_t cache = keyedValue(*stat, version_ == CgroupVersion::kV1 ? "total_cache" : "file");
  u.memory_peak_bytes = withoutCache(peak, *current, cache);
  u.memory_current_bytes = *current - std::min(*current, cache);
  return u;
}

Result<void> SandboxCgroup::resetPeak() {
  if (version_ == CgroupVersion::kV1) return peak_.write("0");
  if (!pathExists(peak_.path())) return {};
  // Linux ≥ 6.12 resets the peak as seen through this file description; older kernels refuse
  // the write, and the peak stays monotone since creation, as the contract allows.
  (void)peak_.write("reset\n");
  return {};
}

void SandboxCgroup::killAll() {
  if (dirs_.empty()) return;
  if (version_ == CgroupVersion::kV2 && pathExists(memoryDir() / "cgroup.kill")) {
    (void)writeFile(memoryDir() / "cgroup.kill", "1");
    return;
  }
  // No cgroup.kill: signal every listed pid until no new one appears. A pid read here could in
  // theory exit and be reused before kill(); callers signal PID 1 through its pidfd first, which
  // takes the whole pid namespace down, so this loop only catches stragglers.
  std::set<pid_t> signalled;
  const fs::path procs = (version_ == CgroupVersion::kV1 ? dirs_[2] : dirs_[0]) / "cgroup.procs";
  for (int pass = 0; pass < 100; ++pass) {
    auto text = readFile(procs);
    if (!text) return;
    bool fresh = false;
    std::istringstream in(*text);
    pid_t pid;
    while (in >> pid) {
      if (signalled.insert(pid).second) {
        fresh = true;
        ::kill(pid, SIGKILL);
      }
    }
    if (!fresh) return;
  }
}

Result<void> SandboxCgroup::remove() {
  // Open control files would keep the kernel's nodes referenced; close them first.
  for (ControlFile* f : {&peak_, &current_, &events_, &stat_}) f->close();
  Result<void> result;
  // Children before parents is not a concern: each entry is a leaf in its own hierarchy.
  for (const auto& dir : dirs_) {
    auto removed = removeDir(dir);
    if (!removed && result) result = std::move(removed).error();
  }
  if (result) dirs_.clear();
  return result;
}

}  // namespace hearth::sandbox
