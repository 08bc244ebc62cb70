#include "sandbox/scratch_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace hearth::sandbox {
namespace fs = std::filesystem;
namespace {

// How often to retry when another process grabs the loop device LOOP_CTL_GET_FREE offered.
constexpr int kLoopAttempts = 16;
// mkfs.ext4's complaint is kept for the error message, up to this much.
constexpr size_t kMaxMkfsOutput = 1024;

Error scratchError(const std::string& what, int err) {
  return errnoError("scratch /tmp: " + what, err, ErrorCode::kSandbox);
}

}  // namespace

Result<std::unique_ptr<ScratchDisk>> ScratchDisk::create(const fs::path& image, uint64_t bytes,
                                                         uid_t uid, gid_t gid,
                                                         const fs::path& mkfs) {
  UniqueFd file(::open(image.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!file) return scratchError("create " + image.string(), errno);
  // From here on the destructor deletes the image (and detaches the device, stops mkfs).
  std::unique_ptr<ScratchDisk> disk(new ScratchDisk(image));
  if (::ftruncate(file.get(), static_cast<off_t>(bytes)) != 0) {
    return scratchError("ftruncate " + image.string(), errno);
  }
  file.reset();
  HEARTH_TRY(disk->attachLoop());
  HEARTH_TRY(disk->startMkfs(mkfs, uid, gid));
  return disk;
}

Result<void> ScratchDisk::attachLoop() {
  UniqueFd backing(::open(image_.c_str(), O_RDWR | O_CLOEXEC));
  if (!backing) return scratchError("open " + image_.string(), errno);
  UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control) return scratchError("open /dev/loop-control", errno);
  for (int attempt = 0; attempt < kLoopAttempts; ++attempt) {
    // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a device number or -1.
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return scratchError("LOOP_CTL_GET_FREE", errno);
    std::string device = "/dev/loop" + std::to_string(n);
    UniqueFd loop(::open(device.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop) return scratchError("open " + device, errno);

    loop_config config;
    std::memset(&config, 0, sizeof config);
    config.fd = static_cast<uint32_t>(backing.get());
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), image_.c_str(),
                 LO_NAME_SIZE - 1);
    // SAFETY: `config` is a fully initialised loop_config that outlives the call; the kernel
    // takes its own reference on the backing file.
    if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) {
      loop_ = std::move(loop);
      device_ = std::move(device);
      return {};
    }
    // EBUSY: another process attached it between GET_FREE and CONFIGURE; ask again.
    if (errno != EBUSY) return scratchError("LOOP_CONFIGURE " + device, errno);
  }
  return scratchError("no free loop device", EBUSY);
}

// Without a journal, reserved blocks or discard, and with lazy inode tables, formatting writes a
// few hundred KiB and takes a few milliseconds.
Result<void> ScratchDisk::startMkfs(const fs::path& mkfs, uid_t uid, gid_t gid) {
  const std::string extended =
      "lazy_itable_init=1,nodiscard,root_owner=" + std::to_string(uid) + ":" + std::to_string(gid);
  std::vector<std::string> args = {mkfs.string(), "-q", "-F", "-O",    "^has_journal",
                                   "-m",          "0",  "-E", extended, device_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return scratchError("pipe2", errno);
  UniqueFd out_read(out[0]);
  UniqueFd out_write(out[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 2);
  // posix_spawn (vfork-style in glibc) does not copy hearthd's address space.
  int rc = ::posix_spawn(&mkfs_pid_, mkfs.c_str(), &actions, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    mkfs_pid_ = -1;
    return scratchError("spawn " + mkfs.string(), rc);
  }
  mkfs_output_ = std::move(out_read);
  return {};
}

Result<void> ScratchDisk::awaitFormatted() {
  if (mkfs_pid_ < 0) return makeError(ErrorCode::kInternal, "scratch /tmp: mkfs not running");
  std::string output;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(mkfs_output_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < kMaxMkfsOutput) output.append(buf, static_cast<size_t>(n));
  }
  mkfs_output_.reset();
  int status = 0;
  while (::waitpid(mkfs_pid_, &status, 0) < 0) {
    if (errno != EINTR) return scratchError("waitpid mkfs.ext4", errno);
  }
  mkfs_pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return makeError(ErrorCode::kSandbox, "scratch /tmp: mkfs.ext4 failed (status " +
                                              std::to_string(status) + "): " + output);
  }
  return {};
}

ScratchDisk::~ScratchDisk() {
  if (mkfs_pid_ > 0) {
    ::kill(mkfs_pid_, SIGKILL);
    while (::waitpid(mkfs_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (loop_) {
    // SAFETY: loop_ is our open loop device. While a mount still holds it, LOOP_CLR_FD only
    // (re)arms autoclear; otherwise it detaches now. Failure leaves autoclear to do it.
    ::ioctl(loop_.get(), LOOP_CLR_FD, 0);
    loop_.reset();
  }
  ::unlink(image_.c_str());
}

}  // namespace hearth::sandbox
