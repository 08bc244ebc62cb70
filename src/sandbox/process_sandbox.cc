// The process backend of the sandbox contract: SandboxFactory and Sandbox over namespaces,
// cgroups, seccomp and a composed root (see sandbox.h; mechanisms in docs/sandbox.md).
//
// create() in order: validate the spec; make the cgroup (limits applied) and the scratch disk
// (formatting in the background); plan the filesystem; clone3 into new namespaces with a pidfd;
// put the child in its cgroups and, once /tmp is formatted, release it; wait until its report
// pipe closes on execve (or carries the failing step).
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "common/log.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/rootfs.h"
#include "sandbox/sandbox.h"
#include "sandbox/scratch_disk.h"
#include "sandbox/seccomp_policy.h"

#ifndef P_PIDFD
#define P_PIDFD 3  // linux/wait.h; glibc 2.36's idtype_t lacks it
#endif

namespace hearth::sandbox {
namespace fs = std::filesystem;
namespace {

// The longest a child may take from clone to execve before create() gives up on it.
constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr size_t kMaxIdLength = 64;
constexpr size_t kMaxHostnameLength = 64;
constexpr uint64_t kMinMemoryBytes = 4ull << 20;

Error sandboxError(std::string message) {
  return makeError(ErrorCode::kSandbox, std::move(message));
}

Result<void> validate(const SandboxSpec& spec) {
  if (spec.id.empty() || spec.id.size() > kMaxIdLength) {
    return sandboxError("spec: id must be 1-64 characters");
  }
  for (char c : spec.id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return sandboxError("spec: id '" + spec.id + "' may only contain [a-z0-9-]");
    }
  }
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return sandboxError("spec: argv[0] must be an absolute path inside the sandbox");
  }
  if (spec.uid == 0 || spec.gid == 0) return sandboxError("spec: uid and gid must be non-zero");
  if (spec.memory_bytes < kMinMemoryBytes) return sandboxError("spec: memory_bytes below 4 MiB");
  if (spec.tmp_bytes < ScratchDisk::kMinBytes) return sandboxError("spec: tmp_bytes below 1 MiB");
  if (spec.pids_max == 0) return sandboxError("spec: pids_max must be positive");
  if (spec.cpus < 0) return sandboxError("spec: cpus must not be negative");
  if (spec.hostname.empty() || spec.hostname.size() > kMaxHostnameLength) {
    return sandboxError("spec: hostname must be 1-64 characters");
  }
  if (!spec.work_dir.is_absolute()) return sandboxError("spec: work_dir must be absolute");
  return {};
}

class ProcessSandbox final : public Sandbox {
 public:
  ProcessSandbox(std::string id, fs::path work_dir)
      : id_(std::move(id)), work_dir_(std::move(work_dir)) {}

  // Tear-down, also of a half-built sandbox: kill, reap PID 1, remove cgroup, scratch, work dir.
  ~ProcessSandbox() override {
    kill();
    reap();
    if (cgroup_) {
      auto removed = cgroup_->remove();
      if (!removed) LOG_WARN("sandbox {}: {}", id_, removed.error().message);
    }
    scratch_.reset();
    std::error_code ec;
    fs::remove_all(work_dir_, ec);
    if (ec) LOG_WARN("sandbox {}: remove {}: {}", id_, work_dir_.string(), ec.message());
  }

  const std::string& id() const override { return id_; }
  pid_t pid() const override { return pid_; }
  UniqueFd& channel() override { return channel_; }
  int pidfd() const override { return pidfd_.get(); }
  Result<Usage> usage() override { return cgroup_->usage(); }
  Result<void> resetPeak() override { return cgroup_->resetPeak(); }
  Result<void> setCpus(double cpus) override { return cgroup_->setCpus(cpus); }

  void kill() override {
    if (pidfd_ && !reaped_) {
      // SAFETY: pidfd_ refers to our own child; a pidfd cannot be recycled to another process.
      ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    }
    // PID 1's death takes down its pid namespace; the cgroup sweep catches anything else.
    if (cgroup_) cgroup_->killAll();
  }

  // Waits for PID 1 to exit and reaps it. Returns its waitid status.
  siginfo_t reap() {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (!pidfd_ || reaped_) return info;
    // SAFETY: waitid fills `info`; P_PIDFD names our own child by its pidfd.
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                    WEXITED) != 0) {
      if (errno != EINTR) break;  // ECHILD: someone else reaped it
    }
    reaped_ = true;
    return info;
  }

  // Whether PID 1 has already exited (without reaping it).
  bool exited() const {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    // SAFETY: as in reap(); WNOWAIT leaves the child waitable.
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                 WEXITED | WNOHANG | WNOWAIT) != 0) {
      return errno == ECHILD;
    }
    return info.si_pid != 0;
  }

  std::string id_;
  fs::path work_dir_;
  std::unique_ptr<SandboxCgroup> cgroup_;
  std::unique_ptr<ScratchDisk> scratch_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd channel_;
  bool reaped_ = false;
};

std::string describeExit(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return "exit status " + std::to_string(info.si_status);
  return "signal " + std::to_string(info.si_status);
}

class ProcessSandboxFactory final : public SandboxFactory {
 public:
  ProcessSandboxFactory(std::shared_ptr<const CgroupHost> cgroups, SeccompProgram seccomp,
                        fs::path mkfs, int cap_last)
      : cgroups_(std::move(cgroups)),
        seccomp_(std::move(seccomp)),
        mkfs_(std::move(mkfs)),
        cap_last_(cap_last) {}

  Result<std::unique_ptr<Sandbox>> create(const SandboxSpec& spec) override {
    [[maybe_unused]] const auto started = std::chrono::steady_clock::now();  // for LOG_DEBUG
    HEARTH_TRY(validate(spec));
    std::error_code ec;
    fs::create_directories(spec.work_dir / "root", ec);
    if (ec) return errnoError("mkdir " + spec.work_dir.string(), ec.value(), ErrorCode::kSandbox);
    auto box = std::make_unique<ProcessSandbox>(spec.id, spec.work_dir);

    auto cgroup = cgroups_->create(spec.id, {spec.memory_bytes, spec.cpus, spec.pids_max});
    if (!cgroup) return std::move(cgroup).error();
    box->cgroup_ = std::move(*cgroup);
    auto scratch =
        ScratchDisk::create(spec.work_dir / "tmp.img", spec.tmp_bytes, spec.uid, spec.gid, mkfs_);
    if (!scratch) return std::move(scratch).error();
    box->scratch_ = std::move(*scratch);

    ChildPlan plan;
    auto ops = planRootfs({.root = spec.work_dir / "root",
                           .tmp_device = box->scratch_->device(),
                           .uid = spec.uid,
                           .gid = spec.gid,
                           .hostname = spec.hostname,
                           .mounts = spec.mounts,
                           .image_root = spec.image_root,
                           .cwd = spec.cwd});
    if (!ops) return std::move(ops).error();
    plan.fs_ops = std::move(*ops);
    plan.hostname = spec.hostname;
    plan.uid = spec.uid;
    plan.gid = spec.gid;
    plan.cap_last = cap_last_;
    plan.seccomp = &seccomp_;
    plan.argv_storage = spec.argv;
    plan.env_storage = spec.env;
    for (auto& a : plan.argv_storage) plan.argv.push_back(a.data());
    plan.argv.push_back(nullptr);
    for (auto& e : plan.env_storage) plan.envp.push_back(e.data());
    plan.envp.push_back(nullptr);

    // Every descriptor is CLOEXEC so that concurrent creates never leak one into another
    // sandbox; the child clears the flag on the channel only.
    int report[2], go[2], channel[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return errnoError("pipe2", errno, ErrorCode::kSandbox);
    UniqueFd report_read(report[0]), report_write(report[1]);
    if (::pipe2(go, O_CLOEXEC) != 0) return errnoError("pipe2", errno, ErrorCode::kSandbox);
    UniqueFd go_read(go[0]), go_write(go[1]);
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0) {
      return errnoError("socketpair", errno, ErrorCode::kSandbox);
    }
    UniqueFd channel_parent(channel[0]), channel_child(channel[1]);
    plan.report_fd = report_write.get();
    plan.go_fd = go_read.get();
    plan.channel_fd = channel_child.get();
    plan.parent_fds = {report_read.get(), go_write.get(), channel_parent.get()};

    int pidfd = -1;
    clone_args args;
    std::memset(&args, 0, sizeof args);
    args.flags =
        CLONE_PIDFD | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    // Blocked across the clone so no hearthd handler runs in the child before it resets them.
    sigset_t all, saved;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved);
    // SAFETY: clone3 without CLONE_VM duplicates the address space like fork(); `args` is a
    // fully initialised clone_args of the size we pass; the child never returns from runChild.
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) runChild(plan);
    const int clone_err = errno;
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0) return errnoError("clone3", clone_err, ErrorCode::kSandbox);
    box->pid_ = static_cast<pid_t>(pid);
    box->pidfd_.reset(pidfd);
    report_write.reset();
    go_read.reset();
    channel_child.reset();

    // Into the cgroups before the child runs anything of its own (on cgroup v1 the first move
    // waits out an RCU grace period, which mkfs.ext4 running meanwhile puts to use); then
    // release it once /tmp is formatted.
    HEARTH_TRY(box->cgroup_->attach(box->pid_));
    HEARTH_TRY(box->scratch_->awaitFormatted());
    const char byte = 1;
    if (::write(go_write.get(), &byte, 1) != 1) {
      return errnoError("release sandbox child", errno, ErrorCode::kSandbox);
    }
    go_write.reset();

    HEARTH_TRY(awaitExec(*box, report_read.get(), plan));
    box->channel_ = std::move(channel_parent);
    LOG_DEBUG("sandbox {}: created in {} us", spec.id,
              std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count());
    return std::unique_ptr<Sandbox>(std::move(box));
  }

 private:
  // Waits for the report pipe: EOF with PID 1 alive means execve succeeded.
  static Result<void> awaitExec(ProcessSandbox& box, int report_fd, const ChildPlan& plan) {
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    ChildReport r;
    size_t got = 0;
    while (got < sizeof r) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{report_fd, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return errnoError("poll sandbox report", errno, ErrorCode::kSandbox);
      if (ready == 0) {
        return sandboxError("sandbox start timed out after " +
                            std::to_string(kStartTimeout.count()) + " s");
      }
      // SAFETY: reads into the remaining bytes of a plain struct of integers.
      ssize_t n = ::read(report_fd, reinterpret_cast<char*>(&r) + got, sizeof r - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errnoError("read sandbox report", errno, ErrorCode::kSandbox);
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    if (got == 0) {
      if (!box.exited()) return {};
      siginfo_t info = box.reap();
      return sandboxError("sandbox PID 1 died during start (" + describeExit(info) + ")");
    }
    if (got != sizeof r) return sandboxError("sandbox child sent a truncated report");
    box.reap();
    auto step = static_cast<ChildStep>(r.step);
    std::string what = childStepName(step);
    if (step == ChildStep::kFilesystem && r.detail < plan.fs_ops.size()) {
      what += ": " + plan.fs_ops[r.detail].describe();
    } else if (step == ChildStep::kExecve) {
      what += " " + plan.argv_storage[0];
    }
    return errnoError(what, r.err, ErrorCode::kSandbox);
  }

  std::shared_ptr<const CgroupHost> cgroups_;
  const SeccompProgram seccomp_;
  const fs::path mkfs_;
  const int cap_last_;
};

Result<fs::path> findMkfs() {
  for (const char* path : {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"}) {
    if (::access(path, X_OK) == 0) return fs::path(path);
  }
  return sandboxError("sandbox: mkfs.ext4 not found (install e2fsprogs)");
}

Result<int> capLast() {
  UniqueFd fd(::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC));
  if (!fd) return errnoError("open /proc/sys/kernel/cap_last_cap", errno, ErrorCode::kSandbox);
  char buf[16] = {};
  if (::read(fd.get(), buf, sizeof buf - 1) <= 0) {
    return errnoError("read /proc/sys/kernel/cap_last_cap", errno, ErrorCode::kSandbox);
  }
  return std::atoi(buf);
}

}  // namespace

Result<std::unique_ptr<SandboxFactory>> makeProcessSandboxFactory(const FactoryOptions& options) {
  if (::geteuid() != 0) {
    return sandboxError("sandbox: the process backend needs root (euid is " +
                        std::to_string(::geteuid()) + ")");
  }
  if (::access("/dev/loop-control", R_OK | W_OK) != 0) {
    return errnoError("sandbox: /dev/loop-control", errno, ErrorCode::kSandbox);
  }
  auto mkfs = findMkfs();
  if (!mkfs) return std::move(mkfs).error();
  auto cap_last = capLast();
  if (!cap_last) return std::move(cap_last).error();
  auto seccomp = SeccompProgram::build();
  if (!seccomp) return std::move(seccomp).error();
  auto cgroups = CgroupHost::detect(options.cgroup_name);
  if (!cgroups) return std::move(cgroups).error();
  return std::unique_ptr<SandboxFactory>(new ProcessSandboxFactory(
      std::move(*cgroups), std::move(*seccomp), std::move(*mkfs), *cap_last));
}

}  // namespace hearth::sandbox
