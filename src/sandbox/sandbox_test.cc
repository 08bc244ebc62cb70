// End-to-end tests of the process sandbox: real sandboxes running the host's /bin/sh and
// python3, scripts that probe their environment and report over the channel (fd 3).
// Needs root and cgroups (CTest labels root, cgroup); skips with the reason otherwise.
#include "sandbox/sandbox.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sandbox/cgroup.h"

namespace hearth::sandbox {
namespace {
namespace fs = std::filesystem;

constexpr uid_t kUid = 1051;
constexpr gid_t kGid = 1051;

// Reads the channel until every process in the sandbox has closed it (or 30 s pass).
std::string readAll(UniqueFd& channel) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{channel.get(), POLLIN, 0};
    if (poll(&p, 1, 30'000) <= 0) {
      ADD_FAILURE() << "timed out reading the channel; so far: " << out;
      return out;
    }
    ssize_t n = read(channel.get(), buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// Every directory named `name` under /sys/fs/cgroup (any hierarchy, any depth).
std::vector<fs::path> cgroupDirsNamed(const std::string& name) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(
           "/sys/fs/cgroup", fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && it->path().filename() == name) found.push_back(it->path());
  }
  return found;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Copies the host program `host` into `image`/usr/bin, with the shared libraries `ldd` lists at
// the paths it names (/lib/x86_64-linux-gnu/..., /lib64/ld-linux-x86-64.so.2), following the
// host's symlinks: a self-contained program of the fake image, as a static busybox would be.
void installProgram(const fs::path& image, const fs::path& host) {
  fs::create_directories(image / "usr/bin");
  fs::copy_file(host, image / "usr/bin" / host.filename(), fs::copy_options::overwrite_existing);
  FILE* ldd = popen(("ldd " + host.string()).c_str(), "r");
  ASSERT_NE(ldd, nullptr);
  char line[512];
  while (fgets(line, sizeof line, ldd) != nullptr) {
    // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "\t/lib64/ld-linux... (0x...)"
    std::string text(line);
    size_t start = text.find('/');
    if (start == std::string::npos) continue;  // linux-vdso.so.1 has no file
    fs::path lib = text.substr(start, text.find(' ', start) - start);
    fs::create_directories(image / lib.relative_path().parent_path());
    fs::copy_file(lib, image / lib.relative_path(), fs::copy_options::overwrite_existing);
  }
  ASSERT_EQ(pclose(ldd), 0) << "ldd " << host;
}

// A fake container image in `image`: dash (as /bin/sh through a usrmerge-style bin -> usr/bin)
// and mkdir with their libraries, a world-writable /srv holding a world-writable file, a /var
// that a mount at /var/task hides, and proc, dev and tmp directories with markers that must not
// show. With `with_etc`, an /etc/passwd with a marker line.
void makeImage(const fs::path& image, bool with_etc) {
  installProgram(image, "/usr/bin/dash");
  installProgram(image, "/usr/bin/mkdir");
  fs::create_symlink("dash", image / "usr/bin/sh");
  fs::create_symlink("usr/bin", image / "bin");
  fs::create_directories(image / "srv");
  fs::permissions(image / "srv", fs::perms::all);
  std::ofstream(image / "srv/shared.txt") << "shared\n";
  fs::permissions(image / "srv/shared.txt", fs::perms::owner_read | fs::perms::owner_write |
                                                fs::perms::group_read | fs::perms::group_write |
                                                fs::perms::others_read | fs::perms::others_write);
  fs::create_directories(image / "var/lib");
  std::ofstream(image / "var/lib/image-marker") << "var\n";
  for (const char* own : {"proc", "dev", "tmp"}) {
    fs::create_directories(image / own);
    std::ofstream(image / own / "image-marker") << own << "\n";
  }
  if (with_etc) {
    fs::create_directories(image / "etc");
    std::ofstream(image / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                        << "marker:x:7:7:from the image:/:/bin/sh\n";
  }
}

// Every entry under `dir` (symlinks not followed) with its type, mode, owner, size and mtime:
// equal snapshots mean nothing was created, removed or modified.
std::string treeSnapshot(const fs::path& dir) {
  std::ostringstream out;
  std::vector<fs::path> paths = {dir};
  for (const auto& entry : fs::recursive_directory_iterator(dir)) paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& path : paths) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      out << path.string() << " lstat failed\n";
      continue;
    }
    out << path.string() << " " << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":"
        << st.st_gid << " " << st.st_size << " " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec
        << "\n";
  }
  return out.str();
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts, loop devices)";
    if (!fs::exists("/sys/fs/cgroup/memory/cgroup.procs") &&
        !fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
      GTEST_SKIP() << "no cgroup v1 memory hierarchy or cgroup v2 mounted at /sys/fs/cgroup";
    }
    auto factory = makeProcessSandboxFactory({"hearth-test-" + std::to_string(getpid())});
    ASSERT_TRUE(factory.ok()) << factory.error().toString();
    factory_ = std::move(*factory);
    base_ = fs::temp_directory_path() / ("hearth-sandbox-test-" + std::to_string(getpid()));
    fs::create_directories(base_ / "task");
    fs::permissions(base_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    fs::permissions(base_ / "task", fs::perms::owner_all | fs::perms::group_read |
                                        fs::perms::group_exec | fs::perms::others_read |
                                        fs::perms::others_exec);
    std::ofstream(base_ / "task" / "handler.txt") << "hello from the task\n";
  }

  void TearDown() override {
    factory_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  SandboxSpec spec(const std::string& id, const std::string& script) {
    SandboxSpec s;
    s.id = id;
    s.argv = {"/bin/sh", "-c", script};
    s.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C"};
    s.mounts = {{base_ / "task", "/var/task"}};
    s.memory_bytes = 256ull << 20;
    s.tmp_bytes = 16ull << 20;
    s.pids_max = 64;
    s.cpus = 1.0;
    s.uid = kUid;
    s.gid = kGid;
    s.hostname = "fn-" + id;
    s.work_dir = base_ / id;
    return s;
  }

  // Creates a sandbox from `s` and returns everything it writes to the channel.
  std::string run(const SandboxSpec& s, std::unique_ptr<Sandbox>* keep = nullptr) {
    auto box = factory_->create(s);
    if (!box.ok()) {
      ADD_FAILURE() << box.error().toString();
      return "";
    }
    std::string out = readAll((*box)->channel());
    if (keep) *keep = std::move(*box);
    return out;
  }

  std::unique_ptr<SandboxFactory> factory_;
  fs::path base_;
};

TEST_F(SandboxTest, IsolatesProcessesIdentityAndPrivileges) {
  auto out = run(spec("ident", R"SH(
    exec 2>&3
    echo "self=$$ cwd=$(pwd)" >&3
    echo "ps:" >&3; ps -e -o pid=,comm= >&3
    echo "host=$(cat /proc/sys/kernel/hostname)" >&3
    echo "user=$(id -un):$(id -u):$(id -g)" >&3
    grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status >&3
    echo "cgroup=$(grep memory /proc/self/cgroup || grep '^0::' /proc/self/cgroup)" >&3
    mount -t tmpfs none /tmp >/dev/null 2>&1; echo "mount=$?" >&3
    unshare -U true >/dev/null 2>&1; echo "unshare=$?" >&3
    echo "nofile=$(ulimit -n) $(ulimit -Hn) core=$(ulimit -c)" >&3
    ulimit -n 4096 2>/dev/null; echo "raise=$?" >&3
    echo "root=$(ls / | tr '\n' ' ')" >&3
    test -e /work && echo "host /work visible" >&3
    echo "end" >&3
  )SH"));
  EXPECT_TRUE(contains(out, "self=1 cwd=/\n")) << out;
  // Exactly our two processes: PID 1 (the shell) and ps itself.
  auto ps = out.substr(out.find("ps:\n") + 4);
  std::istringstream lines(ps);
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  EXPECT_EQ(l1.substr(l1.find_first_not_of(' ')), "1 sh") << out;
  EXPECT_TRUE(l2.ends_with(" ps")) << out;
  EXPECT_TRUE(l3.starts_with("host=")) << out;
  EXPECT_TRUE(contains(out, "host=fn-ident\n")) << out;
  EXPECT_TRUE(contains(out, "user=sbx_user1051:1051:1051\n")) << out;
  EXPECT_TRUE(contains(out, "Uid:\t1051\t1051\t1051\t1051\n")) << out;
  EXPECT_TRUE(contains(out, "Gid:\t1051\t1051\t1051\t1051\n")) << out;
  EXPECT_TRUE(contains(out, "Groups:\t1051 \n")) << out;
  for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_TRUE(contains(out, std::string(cap) + ":\t0000000000000000\n")) << cap << "\n" << out;
  }
  EXPECT_TRUE(contains(out, "NoNewPrivs:\t1\n")) << out;
  EXPECT_TRUE(contains(out, "Seccomp:\t2\n")) << out;
  // The cgroup namespace makes the sandbox's own cgroup its root.
  EXPECT_TRUE(contains(out, ":/\n")) << out;
  EXPECT_TRUE(contains(out, "mount=") && !contains(out, "mount=0\n")) << out;
  EXPECT_TRUE(contains(out, "unshare=") && !contains(out, "unshare=0\n")) << out;
  // Lambda's 1024 open files, which the function cannot raise; no core dumps.
  EXPECT_TRUE(contains(out, "nofile=1024 1024 core=0\n")) << out;
  EXPECT_TRUE(contains(out, "raise=") && !contains(out, "raise=0\n")) << out;
  EXPECT_TRUE(contains(out, "root=bin dev etc lib lib32 lib64 proc sbin tmp usr var \n") ||
              contains(out, "root=bin dev etc lib lib64 proc sbin tmp usr var \n"))
      << out;
  EXPECT_FALSE(contains(out, "host /work visible")) << out;
  EXPECT_TRUE(out.ends_with("end\n")) << out;
}

TEST_F(SandboxTest, ChannelIsBidirectionalOnFd3) {
  auto box = factory_->create(spec("chan", "read line <&3; echo \"got:$line\" >&3"));
  ASSERT_TRUE(box.ok()) << box.error().toString();
  ASSERT_EQ(write((*box)->channel().get(), "ping\n", 5), 5);
  EXPECT_EQ(readAll((*box)->channel()), "got:ping\n");
}

TEST_F(SandboxTest, FilesystemIsReadOnlyExceptADiskBackedTmp) {
  auto out = run(spec("fs", R"SH(
    exec 2>&3
    cat /var/task/handler.txt >&3
    touch /var/task/new 2>/dev/null || echo "task-ro" >&3
    touch /new 2>/dev/null || echo "root-ro" >&3
    touch /usr/new 2>/dev/null || echo "usr-ro" >&3
    touch /dev/new 2>/dev/null || echo "dev-ro" >&3
    echo "bin=$(readlink /bin)" >&3
    echo "tmp=$(stat -c '%u %a' /tmp) $(ls -A /tmp | wc -l)" >&3
    echo "tmpfs=$(grep ' /tmp ' /proc/mounts | cut -d' ' -f3,4 | cut -d, -f1-3)" >&3
    echo data > /tmp/a && echo "tmp-rw" >&3
    echo hi > /dev/null && echo "devnull-ok" >&3
    head -c 4 /dev/urandom | wc -c >&3
    dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1 | grep -o 'No space left on device' >&3
    echo "fill=$(($(stat -c %s /tmp/fill) / 1048576))" >&3
  )SH"));
  EXPECT_TRUE(contains(out, "hello from the task\n")) << out;
  for (const char* line : {"task-ro\n", "root-ro\n", "usr-ro\n", "dev-ro\n", "bin=usr/bin\n",
                           "tmp=1051 755 0\n", "tmpfs=ext4 rw,nosuid,nodev\n", "tmp-rw\n",
                           "devnull-ok\n", "4\n", "No space left on device\n"}) {
    EXPECT_TRUE(contains(out, line)) << line << "\n" << out;
  }
  // The filler got at most the 16 MiB image minus ext4's metadata.
  auto pos = out.find("fill=");
  ASSERT_NE(pos, std::string::npos) << out;
  int fill_mib = std::stoi(out.substr(pos + 5));
  EXPECT_GE(fill_mib, 10) << out;
  EXPECT_LT(fill_mib, 16) << out;
}

TEST_F(SandboxTest, NetworkIsLoopbackOnly) {
  // A listener on the host's loopback, which the sandbox must not reach.
  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener.get(), 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  auto out = run(spec("net", R"SH(exec 2>&3; /usr/bin/python3 - <<'EOF'
import os, socket
out = []
names = [l.split(':')[0].strip() for l in open('/proc/net/dev').read().splitlines()[2:]]
out.append('ifaces=' + ','.join(names))
try:
    socket.create_connection(('127.0.0.1', )SH" +
                                 std::to_string(port) + R"SH(), timeout=2)
    out.append('host-reachable')
except OSError as e:
    out.append('host-unreachable ' + type(e).__name__)
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()
c = socket.create_connection(srv.getsockname(), timeout=2)
a, _ = srv.accept(); c.sendall(b'x'); out.append('loopback ' + a.recv(1).decode())
os.write(3, ('\n'.join(out) + '\n').encode())
EOF
)SH"));
  EXPECT_TRUE(contains(out, "ifaces=lo\n")) << out;
  EXPECT_TRUE(contains(out, "host-unreachable ConnectionRefusedError\n")) << out;
  EXPECT_TRUE(contains(out, "loopback x\n")) << out;
}

TEST_F(SandboxTest, MemoryLimitOomKillsInsideTheSandbox) {
  SandboxSpec s = spec("oom", R"SH(
    exec 2>/dev/null
    /usr/bin/python3 -c "import os; os.write(3, b'started\n'); b = b'x' * (256 << 20)"
    echo "rc=$?" >&3
  )SH");
  s.memory_bytes = 64ull << 20;
  std::unique_ptr<Sandbox> box;
  auto out = run(s, &box);
  ASSERT_TRUE(box);
  EXPECT_EQ(out, "started\nrc=137\n");  // python died of SIGKILL; PID 1 carried on
  auto usage = box->usage();
  ASSERT_TRUE(usage.ok()) << usage.error().toString();
  EXPECT_TRUE(usage->oom_killed);
  EXPECT_GT(usage->memory_peak_bytes, 48ull << 20);
  EXPECT_LE(usage->memory_peak_bytes, 64ull << 20);
  // Everything inside has exited; a new window starts near zero.
  ASSERT_TRUE(box->resetPeak().ok());
  usage = box->usage();
  ASSERT_TRUE(usage.ok()) << usage.error().toString();
  EXPECT_LT(usage->memory_peak_bytes, 8ull << 20);
}

TEST_F(SandboxTest, PidsLimitStopsAForkBomb) {
  SandboxSpec s = spec("pids", R"SH(exec 2>&3; /usr/bin/python3 - <<'EOF'
import os, time
n = 0
while True:
    try:
        pid = os.fork()
    except OSError as e:
        os.write(3, f'forked={n} {e.strerror}\n'.encode())
        break
    if pid == 0:
        os.close(3)
        time.sleep(60)
        os._exit(0)
    n += 1
EOF
)SH");
  s.pids_max = 16;
  auto out = run(s);
  // 16 tasks in all: the shell, python, and 14 children.
  EXPECT_EQ(out, "forked=14 Resource temporarily unavailable\n");
}

TEST_F(SandboxTest, KillAndDestructionLeaveNothingBehind) {
  SandboxSpec s = spec("kill", "echo up >&3; exec /bin/sleep 1000");
  auto box = factory_->create(s);
  ASSERT_TRUE(box.ok()) << box.error().toString();
  char buf[8];
  ASSERT_EQ(read((*box)->channel().get(), buf, 3), 3);
  EXPECT_FALSE(cgroupDirsNamed("kill").empty());
  EXPECT_TRUE(fs::exists(s.work_dir / "tmp.img"));

  (*box)->kill();
  pollfd p{(*box)->pidfd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 5'000), 1) << "PID 1 did not die";
  (*box)->kill();  // idempotent
  box->reset();
  EXPECT_TRUE(cgroupDirsNamed("kill").empty());
  EXPECT_FALSE(fs::exists(s.work_dir));
}

TEST_F(SandboxTest, StartFailuresNameTheStepAndCleanUp) {
  SandboxSpec s = spec("badexec", "");
  s.argv = {"/bin/no-such-program"};
  auto box = factory_->create(s);
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.error().code, ErrorCode::kSandbox);
  EXPECT_EQ(box.error().message,
            "execve /bin/no-such-program: No such file or directory (errno 2)");
  EXPECT_TRUE(cgroupDirsNamed("badexec").empty());
  EXPECT_FALSE(fs::exists(s.work_dir));

  s.id = "badmount";
  s.work_dir = base_ / s.id;
  s.argv = {"/bin/true"};
  s.mounts = {{base_ / "task", "/usr/task"}};  // /usr is read-only
  box = factory_->create(s);
  ASSERT_FALSE(box.ok());
  EXPECT_TRUE(contains(box.error().message, "rootfs: mkdir ")) << box.error().message;
  EXPECT_TRUE(contains(box.error().message, "/usr/task: Read-only file system (errno 30)"))
      << box.error().message;
  EXPECT_TRUE(cgroupDirsNamed("badmount").empty());
}

TEST_F(SandboxTest, CgroupsOfKilledDaemonsAreReapedAtStart) {
  auto first = CgroupHost::detect("hearth-test-reap-" + std::to_string(getpid()));
  ASSERT_TRUE(first.ok()) << first.error().toString();
  // A daemon that was killed: its pid (beyond any pid_max) is gone, its cgroups stayed.
  std::vector<fs::path> stale, live;
  for (const fs::path& parent : (*first)->parents()) {
    stale.push_back(parent.parent_path() / "hearth-999999999");
    fs::create_directories(stale.back() / "sb-left-behind");
    live.push_back(parent.parent_path() / ("hearth-" + std::to_string(getpid())));
    fs::create_directories(live.back());
  }
  auto second = CgroupHost::detect("hearth-test-reap2-" + std::to_string(getpid()));
  ASSERT_TRUE(second.ok()) << second.error().toString();
  for (const fs::path& dir : stale) EXPECT_FALSE(fs::exists(dir)) << dir;
  for (const fs::path& dir : live) {
    EXPECT_TRUE(fs::exists(dir)) << "a live daemon's cgroup is kept: " << dir;
    ::rmdir(dir.c_str());
  }
}

// The probe of an image root, in dash builtins (the image has no other tools but mkdir).
constexpr const char* kImageProbe = R"SH(
    exec 2>&3
    echo "root=$(echo /*)" >&3
    echo "cwd=$(pwd)" >&3
    while read -r l; do echo "passwd:$l" >&3; done </etc/passwd
    test -e /usr/lib/python3 || echo "no-host-python" >&3
    test -e /etc/ssl || echo "no-host-ssl" >&3
    test -e /etc/ld.so.cache || echo "no-host-ld-cache" >&3
    test -e /var/lib/image-marker || echo "image-var-hidden" >&3
    test -e /tmp/image-marker || echo "own-tmp" >&3
    test -e /dev/image-marker || echo "own-dev" >&3
    test -c /dev/null && echo "dev-null" >&3
    test -r /proc/1/status && echo "own-proc" >&3
    while read -r _ _ _ _ point _; do echo "mnt:$point" >&3; done </proc/self/mountinfo
    read -r t </var/task/handler.txt && echo "task:$t" >&3
    read -r t </hearth-init && echo "init:$t" >&3
    echo x >/tmp/ok && echo "tmp-rw" >&3
    for f in /new /usr/bin/new /srv/new /srv/shared.txt /etc/new /lib64/new /bin/new; do
      echo x >"$f" || echo "not-written:$f" >&3
    done
    mkdir /srv/d /usr/d /lib/d /d
    read -r t </srv/shared.txt && echo "shared:$t" >&3
    echo "end" >&3
  )SH";

TEST_F(SandboxTest, ImageRootReplacesTheHostSystemAndStaysUntouched) {
  const fs::path image = base_ / "fake-image";  // not a work_dir: ids name those
  ASSERT_NO_FATAL_FAILURE(makeImage(image, /*with_etc=*/true));
  std::ofstream(base_ / "init") << "hearth-init stand-in\n";
  const std::string before = treeSnapshot(image);

  SandboxSpec s = spec("image", kImageProbe);
  s.image_root = image;
  s.mounts.push_back({base_ / "init", "/hearth-init"});
  s.cwd = "/srv";
  // Two sandboxes share the image at once.
  SandboxSpec t = s;
  t.id = "image2";
  t.work_dir = base_ / t.id;
  t.hostname = "fn-image2";
  auto first = factory_->create(s);
  ASSERT_TRUE(first.ok()) << first.error().toString();
  auto second = factory_->create(t);
  ASSERT_TRUE(second.ok()) << second.error().toString();
  const std::string out = readAll((*first)->channel());
  EXPECT_EQ(readAll((*second)->channel()), out);
  first->reset();
  second->reset();

  // The image's entries, the sandbox's dev, proc and tmp, and the mount targets; nothing else.
  EXPECT_TRUE(
      contains(out, "root=/bin /dev /etc /hearth-init /lib /lib64 /proc /srv /tmp /usr /var\n"))
      << out;
  EXPECT_TRUE(contains(out, "cwd=/srv\n")) << out;
  EXPECT_TRUE(contains(out, "passwd:marker:x:7:7:from the image:/:/bin/sh\n")) << out;
  EXPECT_FALSE(contains(out, "sbx_user")) << out;
  for (const char* line :
       {"no-host-python\n", "no-host-ssl\n", "no-host-ld-cache\n", "image-var-hidden\n",
        "own-tmp\n", "own-dev\n", "dev-null\n", "own-proc\n", "task:hello from the task\n",
        "init:hearth-init stand-in\n", "tmp-rw\n", "shared:shared\n", "end\n"}) {
    EXPECT_TRUE(contains(out, line)) << line << "\n" << out;
  }
  // One mount each on /dev, /proc, /tmp (the image's are not underneath), none on /var (a
  // directory of the root tmpfs holding the /var/task mount); every image entry a mount of its own.
  auto mounts = [&out](const std::string& point) {
    size_t n = 0;
    for (size_t at = out.find("mnt:" + point + "\n"); at != std::string::npos;
         at = out.find("mnt:" + point + "\n", at + 1)) {
      if (at == 0 || out[at - 1] == '\n') ++n;
    }
    return n;
  };
  for (const char* point : {"/dev", "/proc", "/tmp", "/etc", "/lib", "/lib64", "/srv", "/usr",
                            "/var/task", "/hearth-init"}) {
    EXPECT_EQ(mounts(point), 1u) << point << "\n" << out;
  }
  EXPECT_EQ(mounts("/var"), 0u) << out;
  EXPECT_EQ(mounts("/bin"), 0u) << "a symlink, not a mount\n" << out;
  // Every write fails as read-only, not for want of permission (/srv is world-writable).
  for (const char* path : {"/new", "/usr/bin/new", "/srv/new", "/srv/shared.txt", "/etc/new",
                           "/lib64/new", "/bin/new"}) {
    EXPECT_TRUE(contains(out, std::string("cannot create ") + path + ": Read-only file system\n"))
        << path << "\n"
        << out;
    EXPECT_TRUE(contains(out, std::string("not-written:") + path + "\n")) << path << "\n" << out;
  }
  for (const char* dir : {"/srv/d", "/usr/d", "/lib/d", "/d"}) {
    EXPECT_TRUE(contains(
        out, std::string("mkdir: cannot create directory '") + dir + "': Read-only file system\n"))
        << dir << "\n"
        << out;
  }
  // No mount point, file or directory was ever made in the image.
  EXPECT_EQ(treeSnapshot(image), before);
}

TEST_F(SandboxTest, ImageWithoutEtcGetsTheSandboxsOwn) {
  const fs::path image = base_ / "fake-image";  // not a work_dir: ids name those
  ASSERT_NO_FATAL_FAILURE(makeImage(image, /*with_etc=*/false));
  std::ofstream(base_ / "init") << "hearth-init stand-in\n";
  const std::string before = treeSnapshot(image);
  SandboxSpec s = spec("image-noetc", kImageProbe);
  s.image_root = image;
  s.mounts.push_back({base_ / "init", "/hearth-init"});
  auto out = run(s);
  EXPECT_TRUE(
      contains(out, "root=/bin /dev /etc /hearth-init /lib /lib64 /proc /srv /tmp /usr /var\n"))
      << out;
  EXPECT_TRUE(contains(out, "cwd=/\n")) << out;
  EXPECT_TRUE(contains(out, "passwd:sbx_user1051:x:1051:1051::/tmp:/usr/sbin/nologin\n")) << out;
  // Generated files only: nothing of the host's /etc.
  for (const char* line : {"no-host-python\n", "no-host-ssl\n", "no-host-ld-cache\n", "end\n"}) {
    EXPECT_TRUE(contains(out, line)) << line << "\n" << out;
  }
  EXPECT_EQ(treeSnapshot(image), before);
}

TEST_F(SandboxTest, Pid1StartsInCwd) {
  SandboxSpec s = spec("cwd", "echo \"cwd=$(pwd)\" >&3; cat handler.txt >&3");
  s.cwd = "/var/task";
  EXPECT_EQ(run(s), "cwd=/var/task\nhello from the task\n");

  s.id = "cwd-missing";
  s.work_dir = base_ / s.id;
  s.cwd = "/app";
  auto box = factory_->create(s);
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.error().code, ErrorCode::kSandbox);
  EXPECT_EQ(box.error().message, "rootfs: chdir /app: No such file or directory (errno 2)");
  EXPECT_TRUE(cgroupDirsNamed("cwd-missing").empty());
  EXPECT_FALSE(fs::exists(s.work_dir));

  s.cwd = "/var/task/handler.txt";
  box = factory_->create(s);
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.error().message, "rootfs: chdir /var/task/handler.txt: Not a directory (errno 20)");

  for (const char* bad :
       {"", "var/task", "/var/task/", "/var/./task", "/var//task", "/var/..", "/tmp/../var"}) {
    s.cwd = bad;
    box = factory_->create(s);
    ASSERT_FALSE(box.ok()) << bad;
    EXPECT_EQ(box.error().code, ErrorCode::kSandbox);
    EXPECT_EQ(box.error().message,
              std::string("rootfs: cwd '") + bad + "' is not a clean absolute path");
  }
  EXPECT_FALSE(fs::exists(s.work_dir));
}

TEST_F(SandboxTest, BadImageRootsAreRefused) {
  SandboxSpec s = spec("badimage", "true");
  s.image_root = "relative/image";
  auto box = factory_->create(s);
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.error().code, ErrorCode::kSandbox);
  EXPECT_EQ(box.error().message, "rootfs: image root 'relative/image' is not an absolute path");

  s.image_root = base_ / "no-such-image";
  box = factory_->create(s);
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.error().message, "rootfs: stat image root " + s.image_root.string() +
                                     ": No such file or directory (errno 2)");

  s.image_root = base_ / "task/handler.txt";
  box = factory_->create(s);
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.error().message,
            "rootfs: image root " + s.image_root.string() + ": Not a directory (errno 20)");
  EXPECT_TRUE(cgroupDirsNamed("badimage").empty());
  EXPECT_FALSE(fs::exists(s.work_dir));
}

// Not a benchmark, a tripwire: creation stays in the tens of milliseconds. Prints the figures.
TEST_F(SandboxTest, CreationIsFast) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> create_ms, python_ready_ms;
  for (int i = 0; i < 5; ++i) {
    SandboxSpec s = spec("speed-" + std::to_string(i), "");
    s.argv = {"/usr/bin/python3", "-c", "import os; os.write(3, b'ready')"};
    auto t0 = Clock::now();
    auto box = factory_->create(s);
    auto t1 = Clock::now();
    ASSERT_TRUE(box.ok()) << box.error().toString();
    EXPECT_EQ(readAll((*box)->channel()), "ready");
    auto t2 = Clock::now();
    create_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    python_ready_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
  }
  std::sort(create_ms.begin(), create_ms.end());
  std::sort(python_ready_ms.begin(), python_ready_ms.end());
  printf("create() median %.1f ms; create to python3 writing on the channel median %.1f ms\n",
         create_ms[2], python_ready_ms[2]);
  EXPECT_LT(create_ms[2], 200.0);
}

}  // namespace
}  // namespace hearth::sandbox
