"""Persistence and shutdown: functions, accounts and credentials survive a restart on the same
data dir, and SIGTERM drains in-flight invokes. Each test runs its own hearthd."""

import configparser
import json
import stat
import threading
import time

import pytest

import hearth_e2e as he

KEPT = ("FunctionArn", "CodeSha256", "CodeSize", "RevisionId", "LastModified", "Runtime",
        "Handler", "MemorySize", "Timeout", "Environment", "Role")


def root_client(server: he.Hearthd):
    return he.lambda_client(server.endpoint, server.access_key, server.secret_key, server.region)


def ok(client, name: str, event: dict) -> dict:
    result = he.invoke_result(client.invoke(FunctionName=name, Payload=json.dumps(event)))
    assert result["status"] == 200 and result["function_error"] is None, result
    return json.loads(result["payload"])


def test_functions_and_accounts_survive_restart(spawn_hearthd):
    server = spawn_hearthd()
    lam = root_client(server)
    names = [f"e2e-persist-{i}-{he.unique_suffix()}" for i in range(2)]
    he.create_and_wait(lam, names[0], zip_bytes=he.make_zip({"app.py": he.PROBE_HANDLER}))
    he.create_and_wait(lam, names[1], zip_bytes=he.make_zip(
        {"app.py": he.PROBE_HANDLER, "data.txt": "second"}), MemorySize=256, Timeout=7,
        Environment={"Variables": {"KEEP": "me"}})
    lam.put_function_concurrency(FunctionName=names[1], ReservedConcurrentExecutions=7)
    before = {n: lam.get_function_configuration(FunctionName=n) for n in names}
    for n in names:
        ok(lam, n, {"op": "count"})

    account = server.create_account("persisted")
    tenant = he.lambda_client(server.endpoint, account["AccessKeyId"], account["SecretAccessKey"])
    tenant_fn = f"e2e-tenant-{he.unique_suffix()}"
    he.create_and_wait(tenant, tenant_fn, zip_bytes=he.make_zip({"app.py": he.PROBE_HANDLER}))

    old_pid = server.pid
    server.restart()
    assert server.pid != old_pid

    listed = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    assert set(names) <= set(listed)
    for n in names:
        after = lam.get_function_configuration(FunctionName=n)
        for key in KEPT:
            assert after.get(key) == before[n].get(key), (n, key)
            assert listed[n].get(key) == before[n].get(key), (n, key)
        assert after["State"] == "Active"
        assert ok(lam, n, {"op": "count"})["count"] == 1  # a fresh sandbox after the restart
    assert ok(lam, names[1], {"op": "read_file", "name": "data.txt"})["content"] == "second"
    assert lam.get_function_concurrency(FunctionName=names[1]) \
        ["ReservedConcurrentExecutions"] == 7

    assert [f["FunctionName"] for f in tenant.list_functions()["Functions"]] == [tenant_fn]
    assert ok(tenant, tenant_fn, {"op": "echo"}) == {"event": {"op": "echo"}}
    assert tenant_fn not in listed


def test_sigterm_drains_in_flight_invoke(spawn_hearthd):
    server = spawn_hearthd()
    lam = root_client(server)
    name = f"e2e-drain-{he.unique_suffix()}"
    he.create_and_wait(lam, name, zip_bytes=he.make_zip({"app.py": he.PROBE_HANDLER}),
                       Timeout=10)
    ok(lam, name, {"op": "count"})  # warm: the slow invoke below reaches its sandbox at once

    outcome = {}

    def slow():
        try:
            outcome["body"] = ok(lam, name, {"op": "sleep", "seconds": 2})
        except Exception as e:  # reported by the main thread
            outcome["error"] = e

    thread = threading.Thread(target=slow)
    started = time.monotonic()
    thread.start()
    time.sleep(0.7)
    server.terminate()
    rc = server.wait(timeout=30)
    thread.join(timeout=30)
    assert "error" not in outcome, f"in-flight invoke failed: {outcome.get('error')!r}"
    assert outcome["body"]["slept"] == 2
    assert time.monotonic() - started >= 2
    assert rc == 0, f"hearthd exited {rc} after SIGTERM; log tail:\n{server.log_tail()}"


def test_generated_root_credentials(spawn_hearthd):
    server = spawn_hearthd(env_credentials=False)
    path = server.data_dir / "credentials"
    assert path.is_file(), f"no {path}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    parsed = configparser.ConfigParser()
    parsed.read_string(content)
    assert "hearth" in parsed.sections(), content
    access_key = parsed["hearth"]["aws_access_key_id"]
    secret_key = parsed["hearth"]["aws_secret_access_key"]

    lam = he.lambda_client(server.endpoint, access_key, secret_key)
    name = f"e2e-generated-creds-{he.unique_suffix()}"
    he.create_and_wait(lam, name, zip_bytes=he.make_zip({"app.py": he.PROBE_HANDLER}))

    server.restart()
    assert path.read_text() == content, "credentials changed across a restart"
    assert name in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    with pytest.raises(lam.exceptions.ClientError) as exc:
        he.lambda_client(server.endpoint, access_key, he.random_secret_key()).list_functions()
    assert he.client_error(exc)[:2] == ("InvalidSignatureException", 403)
