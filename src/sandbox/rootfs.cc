#include "sandbox/rootfs.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <set>
#include <string_view>

namespace hearth::sandbox {
namespace fs = std::filesystem;
namespace {

constexpr unsigned long kReadOnly = MS_RDONLY | MS_NOSUID | MS_NODEV;

// Top-level system directories. On a usrmerge host (Debian ≥ 12) all but /usr are symlinks into
// it and are recreated as the same symlinks.
constexpr std::array<std::string_view, 7> kSystemDirs = {"usr",   "bin",   "sbin",  "lib",
                                                         "lib32", "lib64", "libx32"};
// /etc entries runtimes read: the dynamic linker cache, name service and time zone setup, CA
// certificates, port and protocol names, Debian's alternatives symlinks.
constexpr std::array<std::string_view, 8> kHostEtc = {
    "ld.so.cache", "nsswitch.conf", "localtime",    "os-release",
    "protocols",   "services",      "alternatives", "ssl"};
constexpr std::array<std::string_view, 6> kDevNodes = {"null",   "zero",    "full",
                                                       "random", "urandom", "tty"};
// Top-level names of an image that are never mirrored: the sandbox provides its own.
constexpr std::array<std::string_view, 3> kOwnTopLevel = {"proc", "dev", "tmp"};

// Whether `path` is absolute and in normal form component by component: no "." or ".."
// components and no trailing "/" (path's == compares components, so repeated slashes pass).
// "/" itself only if `allow_root`.
bool isCleanAbsolute(const fs::path& path, bool allow_root) {
  if (path == "/") return allow_root;
  bool clean = path.is_absolute() && path.lexically_normal() == path && path.filename() != "";
  for (const auto& part : path) clean = clean && part != "..";
  return clean;
}

class Planner {
 public:
  explicit Planner(const RootfsInputs& in) : in_(in), root_(in.root.string()) {}

  Result<std::vector<FsOp>> plan() {
    // path's == compares components, so "/a//b" would pass isCleanAbsolute(); compare text too.
    const fs::path cwd = in_.cwd;
    if (in_.cwd.find('\0') != std::string::npos || !isCleanAbsolute(cwd, true) ||
        cwd.lexically_normal().native() != in_.cwd) {
      return makeError(ErrorCode::kSandbox,
                       "rootfs: cwd '" + in_.cwd + "' is not a clean absolute path");
    }
    // Nothing the child mounts may propagate back to the host's mount namespace.
    add(FsOpKind::kMountFlags, "/", "", "", MS_REC | MS_PRIVATE);
    add(FsOpKind::kMountTmpfs, root_, "tmpfs", "size=1m,mode=0755", MS_NOSUID | MS_NODEV);
    if (in_.image_root.empty()) {
      for (std::string_view dir : kSystemDirs) {
        const fs::path path = fs::path("/") / dir;
        HEARTH_TRY(mirror(path, path));
      }
      planEtc(/*mirror_host=*/true);
    } else {
      HEARTH_TRY(planImage());
    }
    planDev();
    mkdir("/proc", 0555);
    add(FsOpKind::kMountProc, at("/proc"), "proc", "", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mkdir("/tmp", 01777);
    add(FsOpKind::kMountExt4, at("/tmp"), in_.tmp_device, "", MS_NOSUID | MS_NODEV);
    add(FsOpKind::kRmdir, at("/tmp/lost+found"));
    for (const BindMount& m : in_.mounts) HEARTH_TRY(planBind(m));
    add(FsOpKind::kPivotRoot, root_);
    add(FsOpKind::kMountFlags, "/", "", "", MS_REMOUNT | kReadOnly);
    add(FsOpKind::kChdir, in_.cwd);
    return std::move(ops_);
  }

 private:
  void add(FsOpKind kind, std::string target, std::string source = {}, std::string data = {},
           unsigned long flags = 0, mode_t mode = 0) {
    ops_.push_back(FsOp{kind, std::move(target), std::move(source), std::move(data), flags, mode});
  }

  // `path` (absolute, in the sandbox) as seen from the host before pivot_root.
  std::string at(const fs::path& path) const { return root_ + path.string(); }

  void mkdir(const fs::path& path, mode_t mode) {
    if (made_.insert(path.string()).second) add(FsOpKind::kMkdir, at(path), "", "", 0, mode);
  }

  // Recreates host `source` at `dest` (absolute, in the sandbox): a symlink as the same symlink,
  // a directory or regular file as a read-only bind mount on a mount point made in the root
  // tmpfs. Missing entries and other file types are skipped. Returns whether `dest` was planned.
  Result<bool> mirror(const fs::path& source, const fs::path& dest) {
    struct stat st;
    if (::lstat(source.c_str(), &st) != 0) return false;
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      fs::path link = fs::read_symlink(source, ec);
      if (ec) {
        return errnoError("rootfs: readlink " + source.string(), ec.value(), ErrorCode::kSandbox);
      }
      add(FsOpKind::kSymlink, at(dest), link.string());
    } else if (S_ISDIR(st.st_mode)) {
      mkdir(dest, 0755);
      add(FsOpKind::kBind, at(dest), source.string(), "", kReadOnly);
    } else if (S_ISREG(st.st_mode)) {
      add(FsOpKind::kWriteFile, at(dest), "", "", 0, 0444);
      add(FsOpKind::kBind, at(dest), source.string(), "", kReadOnly);
    } else {
      return false;
    }
    return true;
  }

  // The root from a container image (see rootfs.h): its top-level entries mirrored, except the
  // sandbox's own and those a spec mount lies under; /etc generated if the image's is not used.
  // Invariant: every later step that creates something (mkdir, file, symlink, mount) lies under
  // a top-level name that is not mirrored here, so nothing is ever created in the image.
  Result<void> planImage() {
    const fs::path& image = in_.image_root;
    struct stat st;
    if (!image.is_absolute()) {
      return makeError(ErrorCode::kSandbox,
                       "rootfs: image root '" + image.string() + "' is not an absolute path");
    }
    if (::stat(image.c_str(), &st) != 0) {
      return errnoError("rootfs: stat image root " + image.string(), errno, ErrorCode::kSandbox);
    }
    if (!S_ISDIR(st.st_mode)) {
      return errnoError("rootfs: image root " + image.string(), ENOTDIR, ErrorCode::kSandbox);
    }
    std::set<std::string> hidden;
    for (std::string_view name : kOwnTopLevel) hidden.emplace(name);
    for (const BindMount& m : in_.mounts) {
      const fs::path& dst = m.sandbox_path;
      // Unclean paths are refused by planBind(); "/" has no first component.
      if (dst.is_absolute() && std::next(dst.begin()) != dst.end()) {
        hidden.insert(std::next(dst.begin())->string());
      }
    }
    std::set<std::string> names;  // sorted, so that one image always gives the same plan
    std::error_code ec;
    for (fs::directory_iterator it(image, ec), end; !ec && it != end; it.increment(ec)) {
      names.insert(it->path().filename().string());
    }
    if (ec) {
      return errnoError("rootfs: read image root " + image.string(), ec.value(),
                        ErrorCode::kSandbox);
    }
    bool image_etc = false;
    for (const std::string& name : names) {
      if (hidden.contains(name)) continue;
      auto mirrored = mirror(image / name, fs::path("/") / name);
      if (!mirrored) return std::move(mirrored).error();
      if (name == "etc") image_etc = *mirrored;
    }
    if (!image_etc) planEtc(/*mirror_host=*/false);
    return {};
  }

  // /etc: generated passwd, group, hosts and an empty resolv.conf; with `mirror_host`, also the
  // host files of kHostEtc.
  void planEtc(bool mirror_host) {
    mkdir("/etc", 0755);
    const std::string uid = std::to_string(in_.uid);
    const std::string gid = std::to_string(in_.gid);
    const std::string user = "sbx_user" + uid;
    writeFile("/etc/passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\n" + user + ":x:" + uid +
                                 ":" + gid + "::/tmp:/usr/sbin/nologin\n");
    writeFile("/etc/group", "root:x:0:\n" + user + ":x:" + gid + ":\n");
    writeFile("/etc/hosts", "127.0.0.1\tlocalhost " + in_.hostname +
                                "\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    writeFile("/etc/resolv.conf", "");  // no network, no resolver
    if (!mirror_host) return;
    for (std::string_view name : kHostEtc) {
      const fs::path path = fs::path("/etc") / name;
      (void)mirror(path, path);
    }
  }

  void writeFile(const fs::path& path, std::string content) {
    add(FsOpKind::kWriteFile, at(path), std::move(content), "", 0, 0444);
  }

  // /dev: the harmless character devices bound from the host, the /proc/self/fd aliases, and a
  // small /dev/shm; then the tmpfs holding them is made read-only.
  void planDev() {
    mkdir("/dev", 0755);
    add(FsOpKind::kMountTmpfs, at("/dev"), "tmpfs", "size=64k,mode=0755", MS_NOSUID | MS_NOEXEC);
    for (std::string_view node : kDevNodes) {
      fs::path path = fs::path("/dev") / node;
      add(FsOpKind::kWriteFile, at(path), "", "", 0, 0666);
      add(FsOpKind::kBind, at(path), path.string(), "", MS_NOSUID | MS_NOEXEC);
    }
    add(FsOpKind::kSymlink, at("/dev/fd"), "/proc/self/fd");
    add(FsOpKind::kSymlink, at("/dev/stdin"), "/proc/self/fd/0");
    add(FsOpKind::kSymlink, at("/dev/stdout"), "/proc/self/fd/1");
    add(FsOpKind::kSymlink, at("/dev/stderr"), "/proc/self/fd/2");
    mkdir("/dev/shm", 01777);
    add(FsOpKind::kMountTmpfs, at("/dev/shm"), "tmpfs", "size=8m,mode=1777",
        MS_NOSUID | MS_NODEV | MS_NOEXEC);
    add(FsOpKind::kMountFlags, at("/dev"), "", "", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC);
  }

  Result<void> planBind(const BindMount& m) {
    const fs::path& dst = m.sandbox_path;
    if (!isCleanAbsolute(dst, false)) {
      return makeError(ErrorCode::kSandbox,
                       "rootfs: sandbox path '" + dst.string() + "' is not a clean absolute path");
    }
    struct stat st;
    if (::stat(m.host_path.c_str(), &st) != 0) {
      return errnoError("rootfs: stat " + m.host_path.string(), errno, ErrorCode::kSandbox);
    }
    fs::path prefix = "/";
    for (auto it = std::next(dst.begin()); it != dst.end(); ++it) {
      if (std::next(it) == dst.end()) break;
      prefix /= *it;
      mkdir(prefix, 0755);
    }
    if (S_ISDIR(st.st_mode)) {
      mkdir(dst, 0755);
    } else {
      add(FsOpKind::kWriteFile, at(dst), "", "", 0, 0444);
    }
    add(FsOpKind::kBind, at(dst), m.host_path.string(), "", kReadOnly);
    return {};
  }

  const RootfsInputs& in_;
  const std::string root_;
  std::vector<FsOp> ops_;
  std::set<std::string> made_;  // directories already planned
};

}  // namespace

std::string FsOp::describe() const {
  switch (kind) {
    case FsOpKind::kMountTmpfs:
      return "mount tmpfs on " + target;
    case FsOpKind::kMkdir:
      return "mkdir " + target;
    case FsOpKind::kSymlink:
      return "symlink " + target + " -> " + source;
    case FsOpKind::kWriteFile:
      return "create " + target;
    case FsOpKind::kBind:
      return "bind-mount " + source + " on " + target;
    case FsOpKind::kMountProc:
      return "mount proc on " + target;
    case FsOpKind::kMountExt4:
      return "mount " + source + " (ext4) on " + target;
    case FsOpKind::kRmdir:
      return "rmdir " + target;
    case FsOpKind::kMountFlags:
      return "change mount flags of " + target;
    case FsOpKind::kPivotRoot:
      return "pivot_root into " + target;
    case FsOpKind::kChdir:
      return "chdir " + target;
  }
  return "unknown filesystem step";
}

Result<std::vector<FsOp>> planRootfs(const RootfsInputs& in) { return Planner(in).plan(); }

}  // namespace hearth::sandbox
