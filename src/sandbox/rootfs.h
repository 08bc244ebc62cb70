// The sandbox's filesystem, as a plan: the ordered list of filesystem operations the child
// performs between clone and exec to compose its root and pivot into it.
//
// Planning (in the parent) does every allocation and every look at the host (which system
// directories exist, which are Debian usrmerge symlinks); executing the plan (in the child,
// see child.h) is then a loop of plain syscalls over prepared strings.
//
// The resulting tree: a read-only tmpfs root holding read-only bind mounts of the host's /usr
// and (where they are directories rather than usrmerge symlinks) /bin, /sbin, /lib*, a few /etc
// files, the spec's BindMounts (read-only, nosuid, nodev), a minimal /dev, /proc of the
// sandbox's pid namespace, and /tmp from the ScratchDisk. PID 1 starts in `cwd`.
//
// With an image root (SandboxSpec::image_root) nothing of the host's system directories or /etc
// is mounted. Instead each top-level entry of the image is mirrored into the root tmpfs: a
// directory or regular file as a read-only nosuid,nodev bind mount of image_root/<name>, a
// symlink as the same symlink, anything else skipped. Entries named proc, dev and tmp are not
// mirrored (the sandbox's own take their place), nor is any top-level name under which a
// BindMount's sandbox_path lies (its parent directories are created in the root tmpfs, never in
// the image). The image's /etc, when mirrored, is used as it is; otherwise the generated passwd,
// group, hosts and resolv.conf make up /etc, without host files. Nothing is ever created in the
// image: every mkdir, file and symlink of the plan lies in the root tmpfs, /dev or /tmp.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "sandbox/sandbox.h"

namespace hearth::sandbox {

enum class FsOpKind {
  kMountTmpfs,  // mount tmpfs `data` on `target` with `flags`
  kMkdir,       // mkdir `target` `mode` (an existing directory is fine)
  kSymlink,     // symlink `target` -> `source`
  kWriteFile,   // create `target` `mode` holding `source` (also: an empty mount point)
  kBind,        // bind `source` on `target`; then, if `flags`, remount with MS_BIND|flags
  kMountProc,   // mount proc on `target`
  kMountExt4,   // mount the block device `source` (ext4) on `target` with `flags`
  kRmdir,       // rmdir `target`
  kMountFlags,  // mount(NULL, `target`, NULL, `flags`): remount or propagation change
  kPivotRoot,   // make `target` the root and detach the old one
  kChdir,       // chdir `target` (a path in the new root)
};

struct FsOp {
  FsOpKind kind;
  std::string target;
  std::string source;
  std::string data;
  unsigned long flags = 0;
  mode_t mode = 0;

  // "bind-mount /usr on /var/hearth/x/root/usr", for error messages.
  std::string describe() const;
};

struct RootfsInputs {
  std::filesystem::path root;  // host directory where the root tmpfs is mounted
  std::string tmp_device;      // ScratchDisk::device()
  uid_t uid = 0;               // named in /etc/passwd and /etc/group
  gid_t gid = 0;
  std::string hostname;  // resolves to 127.0.0.1 through /etc/hosts
  std::vector<BindMount> mounts;
  std::filesystem::path image_root;  // SandboxSpec::image_root; empty: compose from the host
  std::string cwd = "/";             // where PID 1 starts, in the new root
};

// Plans the sandbox filesystem; the last step enters `cwd`. Fails (kSandbox) when a spec mount's
// host path is missing or its sandbox path is not a clean absolute path, when `cwd` is not a
// clean absolute path, or when `image_root` is not an absolute path to a readable directory.
Result<std::vector<FsOp>> planRootfs(const RootfsInputs& in);

}  // namespace hearth::sandbox
