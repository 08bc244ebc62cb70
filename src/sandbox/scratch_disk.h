// A sandbox's /tmp: a sparse image file on the host's disk, formatted ext4 and attached to a
// loop device that the sandbox mounts.
//
// Disk-backed rather than tmpfs so that /tmp neither counts as unreclaimable memory in the
// function's cgroup nor survives the sandbox: its page cache is ordinary, reclaimable file
// cache, and the image is deleted with the ScratchDisk. The loop device is attached with
// LO_FLAGS_AUTOCLEAR, so the kernel detaches it as soon as the last user (the sandbox's mount, or
// this object) lets go, even if hearthd dies. Requires Linux ≥ 5.8 (LOOP_CONFIGURE).
//
// Formatting overlaps the rest of sandbox creation: create() attaches the loop device and starts
// mkfs.ext4 on it, awaitFormatted() collects the result. mkfs writes through the loop device, so
// the kernel's block cache for it is never stale.
//
// Not thread-safe; owned by one sandbox.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::sandbox {

class ScratchDisk {
 public:
  // Creates `image` (sparse, `bytes` long), attaches it to a free loop device and starts `mkfs`
  // (the path of mkfs.ext4) on that device, with the root directory owned by uid:gid.
  // REQUIRES: root (CAP_SYS_ADMIN), `image` does not exist, bytes ≥ kMinBytes.
  static Result<std::unique_ptr<ScratchDisk>> create(const std::filesystem::path& image,
                                                     uint64_t bytes, uid_t uid, gid_t gid,
                                                     const std::filesystem::path& mkfs);

  // Waits for mkfs.ext4 to finish; an error carries its complaint. Call once, before anything
  // mounts device().
  Result<void> awaitFormatted();

  // Stops a still-running mkfs, detaches the loop device (deferred by the kernel while still
  // mounted) and deletes the image.
  ~ScratchDisk();
  ScratchDisk(const ScratchDisk&) = delete;
  ScratchDisk& operator=(const ScratchDisk&) = delete;

  // "/dev/loopN", the block device to mount.
  const std::string& device() const { return device_; }

  static constexpr uint64_t kMinBytes = 1ull << 20;

 private:
  explicit ScratchDisk(std::filesystem::path image) : image_(std::move(image)) {}

  Result<void> attachLoop();
  Result<void> startMkfs(const std::filesystem::path& mkfs, uid_t uid, gid_t gid);

  std::filesystem::path image_;
  UniqueFd loop_;
  std::string device_;
  pid_t mkfs_pid_ = -1;     // running mkfs.ext4, until awaitFormatted() reaps it
  UniqueFd mkfs_output_;    // its stdout and stderr
};

}  // namespace hearth::sandbox
