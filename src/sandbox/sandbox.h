// Execution environments as isolated process trees: the process backend of the sandbox contract
// (shared/DESIGN.md §4).
//
// A Sandbox is a new mount, pid, net (loopback only), ipc, uts and cgroup namespace holding one
// process tree whose PID 1 is hearth-init, rooted in a composed read-only filesystem, limited by
// a cgroup (v1 or v2, detected), running as an unprivileged uid/gid with no capabilities,
// no_new_privs and a seccomp filter. The worker talks to it over one channel socket and never
// learns which backend built it. Mechanisms and the seccomp policy: docs/sandbox.md.
//
// Host requirements of the process backend: root, Linux ≥ 5.11 (clone3 with CLONE_PIDFD,
// LOOP_CONFIGURE, close_range with CLOSE_RANGE_CLOEXEC), mkfs.ext4, loop devices, and cgroup v1
// memory+cpu+pids hierarchies or cgroup v2 with those controllers delegated.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::sandbox {

// A read-only bind mount of a host directory (or file) into the sandbox.
struct BindMount {
  std::filesystem::path host_path;
  std::filesystem::path sandbox_path;  // absolute, inside the new root
};

struct SandboxSpec {
  std::string id;  // unique per host; names the cgroup and scratch files ([a-z0-9-], ≤ 64)

  // What to run as PID 1 and how. argv[0] is a path inside the sandbox. The channel socket is
  // fd 3 in the new process; stdin is /dev/null; stdout/stderr are inherited from hearthd.
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "KEY=value"

  // Read-only content: at least the function code at /var/task and the runtime. Without an
  // image_root, the host system directories the runtimes need (/usr, /lib, /lib64, /bin,
  // /etc/ssl, ...) are added by the sandbox itself, read-only; these come on top.
  std::vector<BindMount> mounts;

  // A container image's root, for container-image functions. Empty (the default): the root is
  // composed from the host's system directories as described above. Otherwise an absolute host
  // directory holding the image's flattened tree, which the sandbox treats as read-only and
  // shared (many sandboxes may use it at once, and nothing is ever created or changed in it, not
  // even a mount point directory). The root is then still a small read-only tmpfs, and each
  // top-level entry of image_root is mirrored into it: a directory or regular file as a
  // read-only nosuid,nodev bind mount of image_root/<name>, a symlink as the same symlink; other
  // file types are skipped. Not mirrored: entries named proc, dev and tmp (the sandbox provides
  // its own /proc, /dev and /tmp as without an image), and any top-level name under which a
  // BindMount's sandbox_path lies (a mount at /var/task hides the image's whole /var; the worker
  // binds hearth-init at /hearth-init). When the image's /etc is mirrored it is used as it is;
  // otherwise (no etc in the image, or one hidden by a mount) the sandbox generates its own
  // passwd, group, hosts and resolv.conf as without an image, but mirrors none of the host's
  // /etc files. No host system directory is mounted.
  std::filesystem::path image_root;

  // The directory PID 1 starts in, inside the sandbox. REQUIRES: a clean absolute path ("/",
  // "/var/task"; no ".", "..", "//" or trailing "/"), else create() fails at planning. A
  // directory that does not exist fails create() with kSandbox
  // ("rootfs: chdir /app: No such file or directory (errno 2)"). It is entered as root, before
  // the sandbox drops to uid:gid.
  std::string cwd = "/";

  uint64_t memory_bytes = 128ull << 20;  // cgroup memory limit (no swap)
  uint64_t tmp_bytes = 512ull << 20;     // size of the disk-backed /tmp
  uint32_t pids_max = 1024;              // cgroup pids limit
  // CPU bandwidth in CPUs, as a quota over a period; 0 means unlimited. The worker starts
  // environments unlimited for init (as Lambda boosts init) and then applies MemorySize / 1769 MB
  // of one CPU (Lambda's ratio) with setCpus().
  double cpus = 128.0 / 1769.0;

  uid_t uid = 0;  // REQUIRES: non-zero; the sandbox's unprivileged user
  gid_t gid = 0;  // REQUIRES: non-zero
  std::string hostname = "localhost";

  // Absolute path of a directory for this sandbox alone, on a disk filesystem: it holds the /tmp
  // image and the mount point of the new root. Created if missing; removed, with everything in
  // it, when the sandbox is destroyed (or its creation fails).
  std::filesystem::path work_dir;
};

// Resource figures read from the sandbox's cgroup.
struct Usage {
  // High-water mark since creation or the last resetPeak(), without page cache (see cgroup.cc).
  uint64_t memory_peak_bytes = 0;
  uint64_t memory_current_bytes = 0;
  bool oom_killed = false;  // the kernel OOM killer fired in this cgroup
};

// A live sandbox. Destroying it kills every process inside (SIGKILL to the cgroup), reaps PID 1,
// removes the cgroup and the scratch storage; it blocks until PID 1 is reaped (it was SIGKILLed,
// so briefly) and for up to a second while the kernel releases the cgroup. Not thread-safe;
// owned by one worker. May outlive the factory that made it.
//
// Whoever watches pidfd() must not reap PID 1 itself (waitpid(-1) in a SIGCHLD handler would);
// the sandbox reaps it.
class Sandbox {
 public:
  virtual ~Sandbox() = default;

  virtual const std::string& id() const = 0;
  // PID of hearth-init in the host's pid namespace.
  virtual pid_t pid() const = 0;
  // The worker's end of the channel (a connected SOCK_STREAM Unix socket, CLOEXEC; fd 3 inside).
  // The caller may take ownership with release(); the sandbox keeps nothing else on it.
  virtual UniqueFd& channel() = 0;
  // A pidfd for PID 1: readable when it exits. Lets the worker watch it without SIGCHLD.
  virtual int pidfd() const = 0;

  virtual Result<Usage> usage() = 0;
  // Starts a new memory high-water window (v1: reset max_usage_in_bytes; v2: memory.peak is
  // reset by writing to it where the kernel supports it, else the value is kept monotone).
  virtual Result<void> resetPeak() = 0;

  // Changes the CPU bandwidth (see SandboxSpec::cpus).
  virtual Result<void> setCpus(double cpus) = 0;

  // SIGKILL every process in the sandbox now; destruction then cleans up. Idempotent.
  virtual void kill() = 0;
};

// Host-wide set-up, done once per hearthd: detects cgroup v1/v2, creates hearth's parent cgroup
// under the daemon's own, checks the mechanisms the sandbox needs. Errors name the missing piece.
// create() is thread-safe: concurrent calls share nothing mutable.
class SandboxFactory {
 public:
  virtual ~SandboxFactory() = default;
  // Builds a sandbox and starts PID 1. Fails with ErrorCode::kSandbox naming the failing step
  // and errno ("pivot_root: Operation not permitted (errno 1)"); never hangs.
  virtual Result<std::unique_ptr<Sandbox>> create(const SandboxSpec& spec) = 0;
};

struct FactoryOptions {
  // Name of the cgroup directory hearth creates for its sandboxes, under the daemon's own
  // cgroup in each hierarchy. A daemon names its own "hearth-<pid>"; beside it, directories of
  // that form whose process no longer exists (a daemon that was killed) are removed at start,
  // with the empty sandbox cgroups they still hold.
  std::string cgroup_name = "hearth";
};

Result<std::unique_ptr<SandboxFactory>> makeProcessSandboxFactory(const FactoryOptions& options);

}  // namespace hearth::sandbox
