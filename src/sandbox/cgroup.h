// Cgroups for sandboxes on cgroup v1 (legacy or hybrid hosts) and cgroup v2 (unified hosts).
//
// CgroupHost is detected once per daemon: which layout the host has, where the daemon's own
// cgroup is in each hierarchy we use (memory, cpu, pids), and hearth's parent cgroup created
// under it. SandboxCgroup is one sandbox's cgroup in every such hierarchy: it applies limits,
// takes the sandbox's first process, reads usage, kills everything inside and removes itself.
//
// Thread-safety: CgroupHost is immutable after detect() and may be shared. A SandboxCgroup
// belongs to one Sandbox and is not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "sandbox/sandbox.h"

namespace hearth::sandbox {

enum class CgroupVersion { kV1, kV2 };

struct CgroupLimits {
  uint64_t memory_bytes = 0;  // hard limit; swap is disabled
  double cpus = 1.0;          // CPU bandwidth as a number of CPUs (quota / period); 0: unlimited
  uint32_t pids_max = 0;
};

class SandboxCgroup;

class CgroupHost {
 public:
  // Detects the layout from /proc/self/mountinfo and /proc/self/cgroup and creates
  // `parent_name` under the daemon's own cgroup (memory, cpu and pids on v1; one directory with
  // those controllers enabled on v2). Errors (kSandbox) name the missing piece.
  static Result<std::shared_ptr<const CgroupHost>> detect(const std::string& parent_name);

  // Removes hearth's parent cgroups if they are empty; quietly leaves them otherwise.
  ~CgroupHost();

  CgroupVersion version() const { return version_; }
  // hearth's parent cgroup directories (one on v2, one per controller on v1).
  const std::vector<std::filesystem::path>& parents() const { return parents_; }

  // Creates the cgroup `name` under each parent and applies `limits`. On error nothing is left
  // behind.
  Result<std::unique_ptr<SandboxCgroup>> create(const std::string& name,
                                                const CgroupLimits& limits) const;

  CgroupHost(CgroupVersion version, std::vector<std::filesystem::path> parents)
      : version_(version), parents_(std::move(parents)) {}

 private:
  CgroupVersion version_;
  // v1: [memory, cpu, pids]; v2: [the one unified directory].
  std::vector<std::filesystem::path> parents_;
};

// A cgroup control file kept open: the warm invoke path reads memory figures on every
// invocation, and opening a cgroup file costs more than reading it. Not thread-safe.
class ControlFile {
 public:
  explicit ControlFile(std::filesystem::path path) : path_(std::move(path)) {}
  // The whole file, read from offset 0 into an internal buffer (valid until the next call).
  Result<std::string_view> read();
  // One value in one write(2), at offset 0.
  Result<void> write(std::string_view value);
  const std::filesystem::path& path() const { return path_; }
  // Closes the descriptor; the next read or write opens the file again.
  void close() { fd_.reset(); }

 private:
  Result<void> ensureOpen();

  std::filesystem::path path_;
  UniqueFd fd_;
  std::string buf_;
};

class SandboxCgroup {
 public:
  SandboxCgroup(CgroupVersion version, std::vector<std::filesystem::path> dirs);
  // Removes the directories if still present (see remove()).
  ~SandboxCgroup();
  SandboxCgroup(const SandboxCgroup&) = delete;
  SandboxCgroup& operator=(const SandboxCgroup&) = delete;

  // Sets the CPU bandwidth to `cpus` CPUs (quota over a 100 ms period); 0 or less: unlimited.
  Result<void> setCpus(double cpus);

  // Moves process `pid` (and its threads) into this cgroup in every hierarchy.
  Result<void> attach(pid_t pid);

  Result<Usage> usage();
  Result<void> resetPeak();

  // SIGKILL to every process in the cgroup (v2: cgroup.kill; v1: each pid of cgroup.procs,
  // repeated until the list is empty or only already-signalled pids remain). Does not wait.
  void killAll();

  // Removes the cgroup directories, retrying for up to a second while the kernel finishes
  // tearing down exited tasks. REQUIRES: every process inside has exited.
  Result<void> remove();

  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }

 private:
  const std::filesystem::path& memoryDir() const { return dirs_[0]; }

  CgroupVersion version_;
  // v1: [memory, cpu, pids]; v2: [the one directory]. Empty once removed.
  std::vector<std::filesystem::path> dirs_;
  // Memory accounting files (v1 / v2 names). On v2 the peak file is also where resetPeak()
  // writes: Linux ≥ 6.12 resets the peak as seen through that file description only.
  ControlFile peak_;     // memory.max_usage_in_bytes / memory.peak
  ControlFile current_;  // memory.usage_in_bytes / memory.current
  ControlFile events_;   // memory.oom_control / memory.events
  ControlFile stat_;     // memory.stat
};

}  // namespace hearth::sandbox
