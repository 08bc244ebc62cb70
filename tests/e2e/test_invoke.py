"""Invoke semantics: warm reuse, timeouts, crashes, memory, payload limits, logs, concurrency
(shared/refs/lambda-api.md §2)."""

import base64
import json
import math
import threading
import time

import pytest

import hearth_e2e as he


def ok(result: dict) -> dict:
    assert result["status"] == 200 and result["function_error"] is None, result
    return json.loads(result["payload"])


def function_error(result: dict) -> dict:
    assert result["status"] == 200, result
    assert result["function_error"] == "Unhandled", result
    assert result["headers"].get("x-amz-function-error") == "Unhandled"
    return json.loads(result["payload"])


def test_warm_sandbox_is_reused(create_function, invoke):
    name = create_function()["FunctionName"]
    results = [ok(invoke(name, {"op": "count"})) for _ in range(3)]
    assert [r["count"] for r in results] == [1, 2, 3]
    assert len({r["instance"] for r in results}) == 1


def test_functions_with_identical_code_never_share_a_sandbox(create_function, invoke):
    a = create_function()
    b = create_function()
    assert a["CodeSha256"] == b["CodeSha256"]
    for _ in range(2):
        ok(invoke(a["FunctionName"], {"op": "count"}))
    a_marker = ok(invoke(a["FunctionName"], {"op": "tmp_marker"}))
    b_count = ok(invoke(b["FunctionName"], {"op": "count"}))
    b_marker = ok(invoke(b["FunctionName"], {"op": "tmp_marker"}))
    assert b_count["count"] == 1
    assert b_count["instance"] != a_marker["instance"]
    assert b_marker["previous"] is None, "function B saw function A's /tmp"


def test_timeout_kills_the_sandbox(create_function, invoke):
    name = create_function(Timeout=1)["FunctionName"]
    warm = ok(invoke(name, {"op": "count"}))

    started = time.monotonic()
    result = invoke(name, {"op": "sleep", "seconds": 5})
    elapsed = time.monotonic() - started
    body = function_error(result)
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {result['request_id']} Error: Task timed out after 1.00 "
                        "seconds",
    }
    assert 0.9 <= elapsed < 4, elapsed

    after = ok(invoke(name, {"op": "count"}))
    assert after["count"] == 1 and after["instance"] != warm["instance"]


@pytest.mark.parametrize("event,suffix", [
    ({"op": "exit", "code": 3}, "exit status 3"),
    ({"op": "kill"}, "signal: killed"),
], ids=["exit3", "sigkill"])
def test_runtime_crash_is_reported_and_recovered(create_function, invoke, event, suffix):
    name = create_function()["FunctionName"]
    warm = ok(invoke(name, {"op": "count"}))
    result = invoke(name, event)
    assert function_error(result) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {result['request_id']} Error: Runtime exited with error: "
                        f"{suffix}",
    }
    after = ok(invoke(name, {"op": "count"}))
    assert after["count"] == 1 and after["instance"] != warm["instance"]


def test_out_of_memory_is_contained(lam, create_function, invoke):
    name = create_function(MemorySize=128, Timeout=30)["FunctionName"]
    result = invoke(name, {"op": "alloc", "mb": 400})
    body = function_error(result)
    assert body["errorType"] in ("Runtime.ExitError", "Runtime.OutOfMemory"), body
    assert body["errorMessage"].startswith(f"RequestId: {result['request_id']} Error: "), body

    assert ok(invoke(name, {"op": "count"}))["count"] == 1
    assert ok(invoke(name, {"op": "alloc", "mb": 32}))["allocated_mb"] == 32
    lam.get_account_settings()


def test_response_size_limit(create_function, invoke):
    name = create_function(MemorySize=512, Timeout=30)["FunctionName"]
    body = function_error(invoke(name, {"op": "big_response", "bytes": 7 * 1024 * 1024}))
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    assert "6291556" in body["errorMessage"]

    fits = invoke(name, {"op": "big_response", "bytes": 5 * 1024 * 1024})
    assert fits["status"] == 200 and fits["function_error"] is None
    assert json.loads(fits["payload"]) == "x" * (5 * 1024 * 1024)


def test_request_size_limit(lam, create_function, invoke):
    name = create_function(MemorySize=512, Timeout=30)["FunctionName"]
    envelope = b'{"op": "len", "data": ""}'
    filler = he.MAX_SYNC_PAYLOAD - len(envelope)
    exact = envelope[:-2] + b"a" * filler + envelope[-2:]
    assert len(exact) == he.MAX_SYNC_PAYLOAD
    assert ok(invoke(name, exact)) == {"length": filler}

    too_big = envelope[:-2] + b"a" * (filler + 1) + envelope[-2:]
    with pytest.raises(lam.exceptions.RequestTooLargeException) as exc:
        invoke(name, too_big)
    assert he.client_error(exc)[:2] == ("RequestTooLargeException", 413)


def test_log_tail_and_stored_logs(hearthd, create_function, invoke):
    name = create_function()["FunctionName"]
    marker = f"hello-from-{he.unique_suffix()}"

    cold = invoke(name, {"op": "print", "text": marker}, log_tail=True)
    ok(cold)
    assert cold["headers"]["x-amz-log-result"]
    log, rid = cold["log"], cold["request_id"]
    assert len(base64.b64decode(cold["headers"]["x-amz-log-result"])) <= 4096
    start = log.index(f"START RequestId: {rid} Version: $LATEST")
    end = log.index(f"END RequestId: {rid}")
    assert start < log.index(marker) < end
    report = he.parse_report(log, rid)
    assert log.index(report.raw) > end
    assert report.memory_size_mb == 128
    assert 1 <= report.max_memory_used_mb <= 128
    assert report.init_duration_ms is not None and report.init_duration_ms > 0
    assert math.ceil(report.duration_ms) <= report.billed_ms <= math.ceil(report.duration_ms) + 1
    assert report.billed_ms >= 1

    warm = invoke(name, {"op": "print", "text": marker + "-warm"}, log_tail=True)
    ok(warm)
    warm_report = he.parse_report(warm["log"], warm["request_id"])
    assert warm_report.init_duration_ms is None, warm_report.raw
    assert marker + "-warm" in warm["log"]

    untailed = invoke(name, {"op": "echo"})
    assert untailed["log"] is None and "x-amz-log-result" not in untailed["headers"]

    # The same lines are kept under the data dir, in files named after the function.
    deadline = time.monotonic() + 10
    while True:
        stored = ""
        for path in hearthd.data_dir.rglob(f"*{name}*"):
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for f in files:
                stored += f.read_text(errors="replace")
        if marker in stored and f"START RequestId: {rid}" in stored:
            break
        assert time.monotonic() < deadline, f"no log under {hearthd.data_dir} has {marker}"
        time.sleep(0.2)


def test_dry_run(create_function, invoke):
    name = create_function()["FunctionName"]
    result = invoke(name, {"op": "count"}, InvocationType="DryRun")
    assert result["status"] == 204 and result["payload"] == b""
    # DryRun does not run the function.
    assert ok(invoke(name, {"op": "count"}))["count"] == 1


def assert_throttled(exc):
    code, status, resp = he.client_error(exc)
    assert (code, status) == ("TooManyRequestsException", 429), resp
    assert resp.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded", resp


def test_reserved_concurrency_zero_throttles(lam, create_function, invoke):
    name = create_function()["FunctionName"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException) as exc:
        invoke(name, {"op": "count"})
    assert_throttled(exc)
    lam.delete_function_concurrency(FunctionName=name)
    assert ok(invoke(name, {"op": "count"}))["count"] == 1


def test_reserved_concurrency_one_throttles_the_second_caller(lam, create_function, invoke):
    name = create_function(Timeout=10)["FunctionName"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    ok(invoke(name, {"op": "count"}))  # warm, so both callers race for the one slot only

    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def call(i):
        barrier.wait()
        try:
            outcomes[i] = invoke(name, {"op": "sleep", "seconds": 2})
        except lam.exceptions.TooManyRequestsException as e:
            outcomes[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    successes = [o for o in outcomes if isinstance(o, dict)]
    throttles = [o for o in outcomes if isinstance(o, Exception)]
    assert len(successes) == 1 and len(throttles) == 1, outcomes
    assert ok(successes[0])["slept"] == 2
    assert_throttled(throttles[0])
    # The slot is released once the slow invoke ends, and the one sandbox is still warm.
    assert ok(invoke(name, {"op": "count"}))["count"] == 2
