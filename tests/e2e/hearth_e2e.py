"""Support code for Hearth's end-to-end suite: runs the real `hearthd`, builds zips, signs raw
requests, and holds the probe handler the tests deploy.

Contract:
- `Hearthd` owns one `hearthd serve` child process. It is not thread-safe: one test thread drives
  it (other threads may make HTTP calls to its endpoint). `stop()` is idempotent.
- Everything here talks to hearthd only through its public surfaces (the Lambda API over HTTP,
  the `hearthd account create` command, the files it documents under the data dir).
- Nothing here skips or fails tests by itself except where noted (`Hearthd.start` calls
  `pytest.fail` with the log tail when the daemon does not come up).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import string
import subprocess
import time
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/x"
AWS_CLI = "/usr/bin/aws"  # Debian's AWS CLI v2; an `aws` on PATH may be a v1 CLI.

MAX_SYNC_PAYLOAD = 6291456  # bytes, Invoke request limit
MAX_ASYNC_PAYLOAD = 1048576  # bytes, Invoke with InvocationType Event
# Asynchronous retries wait 0.5 s (then 1 s) instead of Lambda's minute (then two).
RETRY_BASE_MS = 500
FAST_RETRIES = ("--event-retry-base-ms", str(RETRY_BASE_MS))
UNZIPPED_LIMIT = 262144000  # bytes

_LISTENING = re.compile(r"listening on http://([0-9.]+):([0-9]+)")
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 60.0

# Servers currently running, so a failing test's report can carry their log tails.
LIVE_SERVERS: list["Hearthd"] = []


def bin_dir() -> Path:
    """Where the built binaries are: $HEARTH_BIN_DIR (set by CTest) or <repo>/build/bin."""
    return Path(os.environ.get("HEARTH_BIN_DIR", REPO_ROOT / "build" / "bin"))


def hearthd_binary() -> Path:
    return bin_dir() / "hearthd"


def random_access_key() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def random_secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(secrets.choice(alphabet) for _ in range(40))


def unique_suffix() -> str:
    return secrets.token_hex(4)


def code_sha256(zip_bytes: bytes) -> str:
    """CodeSha256 as Lambda reports it: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


# ---------------------------------------------------------------------------------------------
# The daemon


class Hearthd:
    """One `hearthd serve` process on 127.0.0.1 with its own data dir and log file."""

    def __init__(self, data_dir: Path, log_path: Path, *, access_key: str | None,
                 secret_key: str | None, region: str = REGION, extra_args: tuple[str, ...] = ()):
        self.binary = hearthd_binary()
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.extra_args = tuple(extra_args)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        # Decrypted code lives on tmpfs, one directory per daemon (kept across restarts and
        # kill9(), removed by stop()).
        self.code_cache_dir = Path("/dev/shm") / f"hearth-e2e-{os.getpid()}-{unique_suffix()}"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_ROOT_")}
        if self.access_key is not None:
            env["HEARTH_ROOT_ACCESS_KEY_ID"] = self.access_key
            env["HEARTH_ROOT_SECRET_ACCESS_KEY"] = self.secret_key or ""
        return env

    def start(self) -> None:
        """Starts the daemon (on the previous port after a restart) and waits for readiness."""
        if not self.binary.exists():
            pytest.fail(f"{self.binary} does not exist: build hearthd first (cmake --build "
                        f"build --target hearthd) or set HEARTH_BIN_DIR", pytrace=False)
        assert self.proc is None, "hearthd already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            cmd = [str(self.binary), "serve", "--listen", f"127.0.0.1:{self.port}",
                   "--data-dir", str(self.data_dir), "--region", self.region,
                   "--code-cache-dir", str(self.code_cache_dir), *self.extra_args]
            log.write(("\n==== e2e: " + " ".join(cmd) + "\n").encode())
            log.flush()
            offset = log.tell()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=self._env())
        LIVE_SERVERS.append(self)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                m = _LISTENING.search(log.read().decode(errors="replace"))
            if m:
                self.port = int(m.group(2))
                return
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self._forget()
                pytest.fail(f"hearthd exited with {rc} before listening; log tail:\n"
                            f"{self.log_tail()}", pytrace=False)
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        self._forget()
        pytest.fail(f"hearthd did not log 'listening on http://…' within {_START_TIMEOUT_S} s; "
                    f"log tail:\n{self.log_tail()}", pytrace=False)

    def terminate(self) -> None:
        """Sends SIGTERM without waiting (drain tests)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = _STOP_TIMEOUT_S) -> int:
        """Waits for the process to exit; kills it and fails the test after `timeout`."""
        assert self.proc is not None
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._forget()
            pytest.fail(f"hearthd did not exit within {timeout} s of SIGTERM; log tail:\n"
                        f"{self.log_tail()}", pytrace=False)
        self._forget()
        return rc

    def stop(self) -> int | None:
        """SIGTERM and wait. Returns the exit status, or None if it was not running. Removes
        what a killed daemon left of its code cache."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.terminate()
            rc = self.wait()
        shutil.rmtree(self.code_cache_dir, ignore_errors=True)
        return rc

    def restart(self) -> None:
        """Stops (requiring exit status 0) and starts again on the same data dir and port."""
        rc = self.stop()
        assert rc == 0, f"hearthd exited with {rc} on SIGTERM; log tail:\n{self.log_tail()}"
        self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL, as a crash would: no draining, no shutdown path. Waits for the exit."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self._forget()

    def function_log(self, account_id: str, name: str) -> str:
        """Everything logged for the function so far (all its log streams, in no set order)."""
        root = self.data_dir / "logs" / account_id / name
        return "".join(p.read_text(errors="replace") for p in sorted(root.rglob("*.log")))

    def code_stats(self) -> dict[str, dict]:
        """`hearthd stats` for this data dir, by account id (safe while the daemon runs)."""
        proc = subprocess.run([str(hearthd_binary()), "stats", "--data-dir", str(self.data_dir)],
                              capture_output=True, text=True, timeout=60, check=True)
        return {a["AccountId"]: a for a in json.loads(proc.stdout)["Accounts"]}

    def hearth_cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs the `hearth` command against this daemon with the root account's keys."""
        env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": self.access_key or "",
               "AWS_SECRET_ACCESS_KEY": self.secret_key or "", "AWS_REGION": self.region}
        proc = subprocess.run([str(bin_dir() / "hearth"), "--endpoint-url", self.endpoint, *args],
                              env=env, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"hearth {' '.join(args)} exited {proc.returncode}\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def dead_letters(self, queue: str = "default", access_key: str | None = None,
                     secret_key: str | None = None) -> list[dict]:
        """Every entry of a queue of the account's built-in dead-letter store (Hearth's API)."""
        entries, marker = [], None
        while True:
            path = f"/hearth/2026-12-01/dead-letters/{queue}?MaxItems=1000"
            if marker:
                path += f"&Marker={marker}"
            resp = signed_request(self.endpoint, "GET", path,
                                  access_key=access_key or self.access_key,
                                  secret_key=secret_key or self.secret_key, region=self.region)
            assert resp.status == 200, str(resp)
            body = resp.json()
            entries += body["DeadLetters"]
            marker = body.get("NextMarker")
            if not marker:
                return entries

    def _forget(self) -> None:
        self.proc = None
        if self in LIVE_SERVERS:
            LIVE_SERVERS.remove(self)

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def create_account(self, name: str) -> dict:
        """`hearthd account create`: returns {"AccessKeyId","SecretAccessKey","AccountId"}."""
        proc = subprocess.run([str(self.binary), "account", "create", "--data-dir",
                               str(self.data_dir), name], capture_output=True, text=True,
                              timeout=60, env=self._env())
        assert proc.returncode == 0, (
            f"hearthd account create {name} exited {proc.returncode}\nstdout: {proc.stdout}\n"
            f"stderr: {proc.stderr}")
        account = json.loads(proc.stdout)
        assert set(account) >= {"AccessKeyId", "SecretAccessKey", "AccountId"}, account
        return account


# ---------------------------------------------------------------------------------------------
# Clients


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Polls `predicate` until it returns something truthy (returned) or fails the test after
    `timeout` seconds, saying what was awaited. A bound on waiting, not a speed assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}", pytrace=False)
        time.sleep(interval)


def client_config(**overrides) -> botocore.config.Config:
    """No retries (a 429 must surface), generous read timeout (cold starts, slow handlers)."""
    kw = dict(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=120,
              connect_timeout=10, max_pool_connections=16)
    kw.update(overrides)
    return botocore.config.Config(**kw)


def lambda_client(endpoint: str, access_key: str, secret_key: str, region: str = REGION,
                  **config_overrides):
    session = boto3.session.Session(aws_access_key_id=access_key,
                                    aws_secret_access_key=secret_key, region_name=region)
    return session.client("lambda", endpoint_url=endpoint, config=client_config(**config_overrides))


def make_zip(files: dict[str, str | bytes], executable=()) -> bytes:
    """A deterministic zip (fixed timestamps, deflated) with Unix modes; names in `executable`
    get 0755, the rest 0644."""
    executable = set(executable)
    unknown = executable - set(files)
    assert not unknown, f"executable names not in files: {unknown}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix: external_attr carries st_mode in its high 16 bits
            mode = 0o755 if name in executable else 0o644
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, content.encode() if isinstance(content, str) else content)
    return buf.getvalue()


def invoke_result(resp: dict) -> dict:
    """Flattens a boto3 Invoke response into the shape the `invoke` fixture returns."""
    log = resp.get("LogResult")
    return {
        "status": resp["StatusCode"],
        "payload": resp["Payload"].read(),
        "function_error": resp.get("FunctionError"),
        "log": base64.b64decode(log).decode(errors="replace") if log is not None else None,
        "executed_version": resp.get("ExecutedVersion"),
        "headers": resp["ResponseMetadata"]["HTTPHeaders"],
        "request_id": resp["ResponseMetadata"].get("RequestId"),
    }


def client_error(exc) -> tuple[str, int, dict]:
    """(code, HTTP status, parsed response) of a botocore ClientError or its ExceptionInfo."""
    resp = getattr(exc, "value", exc).response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"], resp


# ---------------------------------------------------------------------------------------------
# Raw signed requests


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def error_code(self) -> str | None:
        value = self.headers.get("x-amzn-errortype")
        return value.split(":")[0].split("#")[0] if value else None

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.headers} {self.body[:500]!r}"


class _FixedClockSigV4(botocore.auth.SigV4Auth):
    """SigV4 signer whose clock reads `when` (botocore's add_auth, minus utcnow)."""

    def __init__(self, credentials, service, region, when: dt.datetime):
        super().__init__(credentials, service, region)
        self._when = when

    def add_auth(self, request):
        request.context["timestamp"] = self._when.strftime(botocore.auth.SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


def signed_request(endpoint: str, method: str, path: str, *, access_key: str, secret_key: str,
                   region: str = REGION, body: bytes = b"", headers: dict | None = None,
                   when: dt.datetime | None = None, send_body: bytes | None = None) -> RawResponse:
    """Signs `method path` with SigV4 (service lambda) at time `when` (default now, UTC, naive)
    and sends it with http.client. `send_body`, when given, replaces the body after signing."""
    when = when or dt.datetime.utcnow()
    request = botocore.awsrequest.AWSRequest(method=method, url=endpoint + path, data=body,
                                             headers=dict(headers or {}))
    creds = botocore.credentials.Credentials(access_key, secret_key)
    _FixedClockSigV4(creds, "lambda", region, when).add_auth(request)
    parsed = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    try:
        payload = body if send_body is None else send_body
        conn.request(method, path, body=payload if (payload or method in ("POST", "PUT")) else None,
                     headers=dict(request.headers.items()))
        resp = conn.getresponse()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Functions


def create_and_wait(client, name: str, *, runtime: str | None = "python3.11",
                    handler: str | None = "app.handler", zip_bytes: bytes | None = None,
                    **kwargs) -> dict:
    """CreateFunction (Role defaulted) then waits for State Active with function_active_v2."""
    params = dict(FunctionName=name, Role=ROLE)
    if runtime is not None:
        params["Runtime"] = runtime
    if handler is not None:
        params["Handler"] = handler
    if zip_bytes is not None:
        params["Code"] = {"ZipFile": zip_bytes}
    params.update(kwargs)
    resp = client.create_function(**params)
    wait_active(client, name)
    return resp


def wait_active(client, name: str) -> None:
    client.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def wait_updated(client, name: str) -> None:
    client.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def delete_quietly(client, name: str) -> None:
    try:
        client.delete_function(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        pass


@dataclass
class Report:
    """A parsed REPORT log line."""
    request_id: str
    duration_ms: float
    billed_ms: int
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None
    raw: str = field(repr=False)


_REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>\S+)\tDuration: (?P<d>[0-9]+(?:\.[0-9]+)?) ms"
    r"\tBilled Duration: (?P<b>[0-9]+) ms\tMemory Size: (?P<m>[0-9]+) MB"
    r"\tMax Memory Used: (?P<u>[0-9]+) MB(?:\tInit Duration: (?P<i>[0-9]+(?:\.[0-9]+)?) ms)?"
    r"(?:\tStatus: \w+)?\t?$", re.M)


def parse_report(log: str, request_id: str) -> Report:
    for m in _REPORT.finditer(log):
        if m.group("id") == request_id:
            return Report(m.group("id"), float(m.group("d")), int(m.group("b")),
                          int(m.group("m")), int(m.group("u")),
                          float(m.group("i")) if m.group("i") else None, m.group(0))
    raise AssertionError(f"no well-formed REPORT line for {request_id} in log:\n{log}")


# The handler most tests deploy: one module whose behaviour is chosen by event["op"]. Kept in one
# place so that "two functions with identical code" really are identical.
PROBE_HANDLER = r'''
import ctypes
import errno
import json
import os
import signal
import socket
import time
import uuid

INSTANCE = uuid.uuid4().hex
COUNT = 0
LIBC = ctypes.CDLL(None, use_errno=True)
SYS_PTRACE = 101
PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_DETACH = 0, 16, 17
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000


def _in_child(fn):
    """Runs fn() in a fresh single-threaded child; returns its JSON result or its wait status."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            out = fn()
        except BaseException as e:  # report, never unwind into the runtime
            out = {"exception": repr(e)}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return json.loads(data) if data else {"child_wait_status": status}


def _call(fn, *args):
    ctypes.set_errno(0)
    ret = fn(*args)
    return {"ret": ret, "errno": ctypes.get_errno() if ret == -1 else 0}


def op_echo(event, context):
    return {"event": event}


def op_count(event, context):
    global COUNT
    COUNT += 1
    return {"count": COUNT, "instance": INSTANCE, "pid": os.getpid()}


def op_tmp_marker(event, context):
    path = "/tmp/e2e-instance"
    previous = open(path).read() if os.path.exists(path) else None
    with open(path, "w") as f:
        f.write(INSTANCE)
    return {"previous": previous, "instance": INSTANCE}


def op_context(event, context):
    return {
        "function_name": context.function_name,
        "memory_limit_in_mb": int(context.memory_limit_in_mb),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "env": {k: os.environ.get(k) for k in event.get("env", [])},
        "instance": INSTANCE,
    }


def op_env_scan(event, context):
    environs = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    environs[pid] = f.read().decode(errors="replace")
            except OSError as e:
                environs[pid] = f"error {e.errno}"
    return {"environ": dict(os.environ), "proc_environs": environs}


def op_sleep(event, context):
    time.sleep(event["seconds"])
    return {"slept": event["seconds"], "instance": INSTANCE}


def op_exit(event, context):
    os._exit(event["code"])


def op_kill(event, context):
    os.kill(os.getpid(), signal.SIGKILL)


def op_alloc(event, context):
    chunks = []
    for _ in range(event["mb"] // 16):
        chunks.append(b"\x01" * (16 << 20))
    return {"allocated_mb": 16 * len(chunks)}


def op_big_response(event, context):
    return "x" * event["bytes"]


def op_print(event, context):
    print(event["text"], flush=True)
    return {"printed": True}


def op_read_file(event, context):
    with open(os.path.join("/var/task", event["name"])) as f:
        return {"content": f.read(), "instance": INSTANCE}


def op_len(event, context):
    return {"length": len(event["data"])}


def op_proc(event, context):
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    with open("/proc/1/cmdline", "rb") as f:
        pid1 = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    return {"pids": pids, "pid1_cmdline": pid1, "hostname": socket.gethostname(),
            "my_pid": os.getpid()}


def op_identity(event, context):
    caps = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp:")):
                key, value = line.split(":", 1)
                caps[key] = value.strip()
    return {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "status": caps}


def op_write_task(event, context):
    try:
        with open("/var/task/e2e-written", "w") as f:
            f.write("x")
        return {"errno": 0}
    except OSError as e:
        return {"errno": e.errno}


def op_net(event, context):
    with open("/proc/net/dev") as f:
        ifaces = [line.split(":", 1)[0].strip() for line in f.readlines()[2:]]
    result = {"interfaces": ifaces}
    port = event.get("port")
    if port:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.close()
            result["connect"] = "connected"
        except OSError as e:
            result["connect"] = f"{type(e).__name__} errno={e.errno}"
    return result


def op_syscalls(event, context):
    def mount():
        os.makedirs("/tmp/e2e-mnt", exist_ok=True)
        return _call(LIBC.mount, b"none", b"/tmp/e2e-mnt", b"tmpfs", 0, None)

    def traceme():
        return _call(LIBC.syscall, SYS_PTRACE, PTRACE_TRACEME, 0, 0, 0)

    def attach_pid1():
        out = _call(LIBC.syscall, SYS_PTRACE, PTRACE_ATTACH, 1, 0, 0)
        if out["ret"] == 0:
            LIBC.syscall(SYS_PTRACE, PTRACE_DETACH, 1, 0, 0)
        return out

    return {
        "mount": _in_child(mount),
        "ptrace_traceme": _in_child(traceme),
        "ptrace_attach_pid1": _in_child(attach_pid1),
        "unshare_user": _in_child(lambda: _call(LIBC.unshare, CLONE_NEWUSER)),
        "unshare_mount": _in_child(lambda: _call(LIBC.unshare, CLONE_NEWNS)),
        "unshare_net": _in_child(lambda: _call(LIBC.unshare, CLONE_NEWNET)),
    }


def op_fill_tmp(event, context):
    path = "/tmp/e2e-fill.bin"
    chunk = bytes(8 << 20)
    written, err = 0, 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while written < event["limit_mb"] << 20:
            written += os.write(fd, chunk)
        os.fsync(fd)
    except OSError as e:
        err = e.errno
    finally:
        os.close(fd)
        os.unlink(path)
    return {"written": written, "errno": err}


def op_fork_bomb(event, context):
    children, err = [], 0
    try:
        while len(children) < event["max"]:
            pid = os.fork()
            if pid == 0:
                os.kill(os.getpid(), signal.SIGSTOP)
                os._exit(0)
            children.append(pid)
    except OSError as e:
        err = e.errno
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    for pid in children:
        os.waitpid(pid, 0)
    return {"forked": len(children), "errno": err}


def op_find(event, context):
    target, skip = event["name"], {"/proc", "/sys", "/dev"}
    deadline = time.monotonic() + event.get("budget_s", 20)
    found, visited, complete, stack = [], 0, True, ["/"]
    while stack:
        if time.monotonic() > deadline:
            complete = False
            break
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for entry in entries:
            visited += 1
            if entry.name == target:
                found.append(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False) and entry.path not in skip:
                    stack.append(entry.path)
            except OSError:
                pass
    return {"found": found, "visited": visited, "complete": complete}


def handler(event, context):
    op = event.get("op", "echo") if isinstance(event, dict) else "echo"
    return globals()["op_" + op](event, context)
'''
