"""Fixtures for Hearth's end-to-end suite (pytest + boto3 + AWS CLI v2 against the real hearthd).

Run as root with Debian's interpreter: `/usr/bin/python3 -m pytest -q tests/e2e` (CTest: `ctest -L
e2e`). The binaries come from $HEARTH_BIN_DIR, else <repo>/build/bin; a missing hearthd fails
the tests that need it. Tests that start hearthd are skipped when not root (sandboxes need it).

Fixtures other test files rely on (a stable contract):
- hearthd: session server on 127.0.0.1:0, temp data dir; .endpoint .data_dir .access_key
  .secret_key .region .pid .log_path .restart() .stop() .create_account(name) .log_tail().
- lam: boto3 Lambda client for the root account, no retries, 120 s read timeout.
- make_zip(files, executable=()) -> bytes.
- create_function(name=None, runtime="python3.11", handler="app.handler", files=None,
  executable=(), client=None, wait=True, **create_kwargs) -> CreateFunction response; default
  files deploy hearth_e2e.PROBE_HANDLER as app.py; deleted at teardown. `.track(name, client)`
  registers a function created some other way (e.g. the CLI) for the same cleanup.
- invoke(name, payload=None, log_tail=False, client=None, **kw) -> {"status", "payload",
  "function_error", "log", "executed_version", "headers", "request_id"}.
- aws_cli(*args, check=True, credentials=None) -> CompletedProcess (text) of /usr/bin/aws.
- client_for(access_key, secret_key, **config) -> Lambda client on the session server.
- new_account(name=None) -> Account (a fresh account made with `hearthd account create`).
- raw_request(method, path, body=b"", headers=None, when=None, access_key=None,
  secret_key=None, send_body=None) -> hearth_e2e.RawResponse (SigV4-signed, sent as is).
- spawn_hearthd(env_credentials=True, extra_args=(), data_dir=None) -> a private, started
  Hearthd (its own data dir unless given); stopped at teardown.
Every hearthd here runs with he.FAST_RETRIES (asynchronous retries after 0.5 s, not a minute).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass

import pytest

import hearth_e2e as he

_NEEDS_ROOT = {"hearthd", "spawn_hearthd"}


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: hearthd builds sandboxes with namespaces, "
                                   "cgroups and pivot_root")
    for item in items:
        if _NEEDS_ROOT & set(item.fixturenames):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in list(he.LIVE_SERVERS):
            state = "running" if server.alive() else f"NOT running (exit {server.proc.poll()})"
            report.sections.append((f"hearthd {server.data_dir} ({state}), log tail",
                                    server.log_tail(40)))


def pytest_sessionfinish(session, exitstatus):
    # A run where everything was skipped (not root) reports "no tests ran" so CTest, with
    # SKIP_RETURN_CODE 5, shows the suite as skipped rather than passed.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != pytest.ExitCode.OK:
        return
    stats = reporter.stats
    if stats.get("skipped") and not any(stats.get(k) for k in ("passed", "failed", "error")):
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED


# ---------------------------------------------------------------------------------------------
# Servers


@pytest.fixture(scope="session")
def hearthd(tmp_path_factory):
    base = tmp_path_factory.mktemp("hearthd")
    server = he.Hearthd(base / "data", base / "hearthd.log", access_key=he.random_access_key(),
                        secret_key=he.random_secret_key(), extra_args=he.FAST_RETRIES)
    server.start()
    yield server
    rc = server.stop()
    assert rc in (0, None), f"hearthd exited with {rc} on SIGTERM; log tail:\n{server.log_tail()}"


@pytest.fixture
def spawn_hearthd(tmp_path):
    servers: list[he.Hearthd] = []

    def spawn(env_credentials: bool = True, extra_args=(), data_dir=None) -> he.Hearthd:
        base = tmp_path / f"hearthd-{len(servers)}"
        server = he.Hearthd(data_dir or base / "data", base / "hearthd.log",
                            access_key=he.random_access_key() if env_credentials else None,
                            secret_key=he.random_secret_key() if env_credentials else None,
                            extra_args=(*he.FAST_RETRIES, *extra_args))
        servers.append(server)
        server.start()
        return server

    yield spawn
    for server in servers:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Clients


@pytest.fixture(scope="session")
def lam(hearthd):
    return he.lambda_client(hearthd.endpoint, hearthd.access_key, hearthd.secret_key,
                            hearthd.region)


@pytest.fixture(scope="session")
def lam_unvalidated(hearthd):
    """Root client that sends what it is given (no client-side parameter validation)."""
    return he.lambda_client(hearthd.endpoint, hearthd.access_key, hearthd.secret_key,
                            hearthd.region, parameter_validation=False)


@pytest.fixture(scope="session")
def client_for(hearthd):
    def make(access_key: str, secret_key: str, **config):
        return he.lambda_client(hearthd.endpoint, access_key, secret_key, hearthd.region, **config)

    return make


@dataclass
class Account:
    name: str
    access_key: str
    secret_key: str
    account_id: str
    lam: object  # boto3 Lambda client for this account


@pytest.fixture
def new_account(hearthd, client_for):
    def make(name: str | None = None) -> Account:
        name = name or f"e2e-{he.unique_suffix()}"
        created = hearthd.create_account(name)
        return Account(name, created["AccessKeyId"], created["SecretAccessKey"],
                       created["AccountId"],
                       client_for(created["AccessKeyId"], created["SecretAccessKey"]))

    return make


@pytest.fixture(scope="session")
def raw_request(hearthd):
    def send(method: str, path: str, body: bytes = b"", headers=None, when=None,
             access_key=None, secret_key=None, send_body=None) -> he.RawResponse:
        return he.signed_request(hearthd.endpoint, method, path,
                                 access_key=access_key or hearthd.access_key,
                                 secret_key=secret_key or hearthd.secret_key,
                                 region=hearthd.region, body=body, headers=headers, when=when,
                                 send_body=send_body)

    return send


@pytest.fixture(scope="session")
def aws_cli(hearthd, tmp_path_factory):
    home = tmp_path_factory.mktemp("aws-home")

    def run(*args: str, check: bool = True, credentials: tuple[str, str] | None = None):
        access_key, secret_key = credentials or (hearthd.access_key, hearthd.secret_key)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_DEFAULT_REGION": hearthd.region,
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_PAGER": "",
            "AWS_DEFAULT_OUTPUT": "json",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        cmd = [he.AWS_CLI, *args, "--endpoint-url", hearthd.endpoint]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    return run


# ---------------------------------------------------------------------------------------------
# Functions


@pytest.fixture(scope="session")
def make_zip():
    return he.make_zip


def _default_name(request) -> str:
    slug = re.sub(r"[^A-Za-z0-9-]+", "-", request.node.name).strip("-")[:40].rstrip("-")
    return f"e2e-{slug}-{he.unique_suffix()}"


@pytest.fixture
def create_function(request, lam):
    created: list[tuple[object, str]] = []

    def track(name: str, client=None) -> None:
        created.append((client or lam, name))

    def create(name: str | None = None, runtime: str | None = "python3.11",
               handler: str | None = "app.handler", files: dict | None = None, executable=(),
               client=None, wait: bool = True, **create_kwargs) -> dict:
        client = client or lam
        name = name or _default_name(request)
        params = dict(FunctionName=name, Role=he.ROLE)
        if runtime is not None:
            params["Runtime"] = runtime
        if handler is not None:
            params["Handler"] = handler
        if "Code" not in create_kwargs:
            files = files if files is not None else {"app.py": he.PROBE_HANDLER}
            params["Code"] = {"ZipFile": he.make_zip(files, executable)}
        params.update(create_kwargs)
        resp = client.create_function(**params)
        track(name, client)
        if wait:
            he.wait_active(client, name)
        return resp

    create.track = track
    yield create
    for client, name in reversed(created):
        he.delete_quietly(client, name)


@pytest.fixture
def invoke(lam):
    def call(name: str, payload=None, log_tail: bool = False, client=None, **kw) -> dict:
        client = client or lam
        params = dict(FunctionName=name, LogType="Tail" if log_tail else "None", **kw)
        if payload is not None:
            params["Payload"] = payload if isinstance(payload, bytes) else json.dumps(payload)
        return he.invoke_result(client.invoke(**params))

    return call
