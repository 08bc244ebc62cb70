"""Isolation: what a function can observe and do from inside its sandbox (shared/DESIGN.md §4).
Each test asks the probe handler to look at something and return what it found."""

import errno
import json
import socket

import pytest

import hearth_e2e as he

# Probes that do real work get a full CPU's share (CPU is proportional to memory) and time.
PROBE_CONFIG = dict(MemorySize=1769, Timeout=60)


@pytest.fixture(scope="module")
def probe(lam):
    name = f"e2e-isolation-probe-{he.unique_suffix()}"
    he.create_and_wait(lam, name, zip_bytes=he.make_zip({"app.py": he.PROBE_HANDLER}),
                       **PROBE_CONFIG)
    yield name
    he.delete_quietly(lam, name)


@pytest.fixture
def run(lam, probe):
    """Invokes the probe (or another function) and returns its decoded, successful result."""
    def call(event, name=None, log_tail=False):
        result = he.invoke_result(lam.invoke(FunctionName=name or probe,
                                             Payload=json.dumps(event),
                                             LogType="Tail" if log_tail else "None"))
        assert result["status"] == 200 and result["function_error"] is None, result
        body = json.loads(result["payload"])
        return (body, result) if log_tail else body

    return call


def test_pid_namespace_hides_host_processes(run):
    seen = run({"op": "proc"})
    with open("/proc/1/cmdline", "rb") as f:
        host_init = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    assert len(seen["pids"]) <= 8, seen["pids"]
    assert seen["pid1_cmdline"] != host_init, seen
    assert seen["pid1_cmdline"].startswith("/var/rapid/init "), seen  # hearth-init, where Lambda keeps its init
    assert seen["my_pid"] < 100, seen


def test_hostname_is_not_the_hosts(run):
    assert run({"op": "proc"})["hostname"] != socket.gethostname()


def test_runs_unprivileged(run):
    ident = run({"op": "identity"})
    assert ident["uid"] != 0 and ident["euid"] != 0 and ident["gid"] != 0, ident
    status = ident["status"]
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0, status
    assert status["NoNewPrivs"] == "1", status
    assert status["Seccomp"] == "2", status  # filter mode


def test_code_is_read_only(run):
    assert run({"op": "write_task"})["errno"] == errno.EROFS


def test_tmp_is_bounded_and_not_memory(run):
    body, result = run({"op": "fill_tmp", "limit_mb": 600}, log_tail=True)
    assert body["errno"] == errno.ENOSPC, body
    assert 400 << 20 <= body["written"] <= 512 << 20, body
    report = he.parse_report(result["log"], result["request_id"])
    assert report.max_memory_used_mb < 100, (
        f"filling /tmp was charged as function memory: {report.raw}")
    # /tmp is usable again afterwards (the probe deleted its file).
    assert run({"op": "fill_tmp", "limit_mb": 16})["errno"] == 0


def test_network_is_loopback_only(run):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        seen = run({"op": "net", "port": port})
        assert seen["interfaces"] == ["lo"], seen
        assert seen["connect"] != "connected", seen
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


def test_privileged_syscalls_fail(run):
    seen = run({"op": "syscalls"})
    assert seen["mount"] == {"ret": -1, "errno": errno.EPERM}, seen
    for key in ("ptrace_traceme", "ptrace_attach_pid1", "unshare_user", "unshare_mount",
                "unshare_net"):
        assert seen[key].get("ret") == -1 and seen[key]["errno"] != 0, (key, seen[key])


def test_fork_bomb_is_bounded(lam, run, create_function, invoke):
    bomb = create_function(**PROBE_CONFIG)["FunctionName"]
    seen = run({"op": "fork_bomb", "max": 5000}, name=bomb)
    assert seen["errno"] == errno.EAGAIN, seen
    assert 10 <= seen["forked"] < 1024, seen
    # The sandbox and the daemon still work.
    assert run({"op": "count"}, name=bomb)["count"] >= 1
    assert run({"op": "count"})["count"] >= 1
    lam.list_functions(MaxItems=1)


def test_cannot_find_another_functions_code(run, create_function):
    marker = f"marker-{he.unique_suffix()}.txt"
    other = create_function(files={"app.py": he.PROBE_HANDLER, marker: "secret code"},
                            **PROBE_CONFIG)["FunctionName"]
    own = run({"op": "find", "name": marker, "budget_s": 20}, name=other)
    assert own["complete"] and own["found"] == [f"/var/task/{marker}"], own

    seen = run({"op": "find", "name": marker, "budget_s": 20})
    assert seen["complete"], f"search did not finish: {seen}"
    assert seen["found"] == [], seen
    assert seen["visited"] > 1000, seen  # it did look at the filesystem


def test_environment_is_private_to_the_function(run, create_function):
    secret = f"s3cr3t-{he.unique_suffix()}"
    other = create_function(Environment={"Variables": {"E2E_SECRET": secret}},
                            **PROBE_CONFIG)["FunctionName"]
    theirs = run({"op": "env_scan"}, name=other)
    assert theirs["environ"]["E2E_SECRET"] == secret

    mine = run({"op": "env_scan"})
    assert secret not in json.dumps(mine), "another function's environment is visible"
    assert "E2E_SECRET" not in mine["environ"]
