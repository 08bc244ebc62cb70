"""A runtime nobody here wrote: AWS's own Node.js runtime interface client (npm aws-lambda-ric
4.0.2, native code built from aws-lambda-cpp and curl) as the bootstrap of a provided.al2023
function. It must find everything it relies on (the Runtime API and its headers, the
environment) exactly where Lambda puts it.

The package comes from scripts/fetch-aws-lambda-ric into <build>/cache/aws-lambda-ric (first
run: about a minute with a warm npm cache, several on a cold one); the tests skip when the npm
registry is unreachable."""

import json
import subprocess
import time

import pytest

import hearth_e2e as he

_REGISTRY_UNREACHABLE = 3  # scripts/fetch-aws-lambda-ric's exit status for "offline"
_FETCH_TIMEOUT_S = 1800

BOOTSTRAP = """#!/bin/sh
# A provided runtime's bootstrap, as AWS documents for the Node.js runtime interface client.
exec /usr/bin/node /var/task/node_modules/aws-lambda-ric/index.mjs "$_HANDLER"
"""

HANDLER = """
let invocations = 0;
export const handler = async (event, context) => {
  invocations += 1;
  if (event.op === 'fail') throw new RangeError(event.message);
  console.log('ric-log-marker', event.tag);
  return { event, invocations, requestId: context.awsRequestId,
           functionName: context.functionName, memory: context.memoryLimitInMB,
           remaining: context.getRemainingTimeInMillis() };
};
"""


@pytest.fixture(scope="module")
def ric_files() -> dict:
    """The zip entries of the installed package that its bundled entry point loads."""
    cache = he.bin_dir().parent / "cache" / "aws-lambda-ric"
    script = he.REPO_ROOT / "scripts" / "fetch-aws-lambda-ric"
    started = time.monotonic()
    proc = subprocess.run([str(script), str(cache)], capture_output=True, text=True,
                          timeout=_FETCH_TIMEOUT_S)
    elapsed = time.monotonic() - started
    if proc.returncode == _REGISTRY_UNREACHABLE:
        pytest.skip(f"npm registry unreachable, cannot install aws-lambda-ric: {proc.stderr}")
    assert proc.returncode == 0, f"fetch-aws-lambda-ric failed ({elapsed:.0f} s):\n{proc.stderr}"
    print(f"fetch-aws-lambda-ric took {elapsed:.1f} s")

    package = cache / "node_modules" / "aws-lambda-ric"
    # The published package is one bundled ES module plus its native addon.
    names = ["index.mjs", "package.json", "rapid-client.node"]
    return {f"node_modules/aws-lambda-ric/{n}": (package / n).read_bytes() for n in names}


@pytest.fixture
def ric_function(create_function, ric_files):
    def create(handler: str = "index.handler", index: str = HANDLER) -> dict:
        files = dict(ric_files, **{"bootstrap": BOOTSTRAP, "index.mjs": index})
        return create_function(runtime="provided.al2023", handler=handler, files=files,
                               executable={"bootstrap"}, MemorySize=256, Timeout=30)

    return create


def test_success_and_warm_invokes(ric_function, invoke):
    name = ric_function()["FunctionName"]
    for count, tag in ((1, "first"), (2, "second")):
        result = invoke(name, {"tag": tag, "data": [1, {"x": None}]}, log_tail=True)
        assert result["status"] == 200 and result["function_error"] is None, result
        body = json.loads(result["payload"])
        assert body["event"] == {"tag": tag, "data": [1, {"x": None}]}
        assert body["invocations"] == count
        assert body["requestId"] == result["request_id"]
        assert body["functionName"] == name
        assert body["memory"] == "256"
        assert 0 < body["remaining"] <= 30000
        assert f"\tINFO\tric-log-marker {tag}" in result["log"], result["log"]
        he.parse_report(result["log"], result["request_id"])


def test_handler_error(ric_function, invoke):
    name = ric_function()["FunctionName"]
    result = invoke(name, {"op": "fail", "message": "out of range"})
    assert result["status"] == 200 and result["function_error"] == "Unhandled", result
    body = json.loads(result["payload"])
    assert body["errorType"] == "RangeError", body
    assert body["errorMessage"] == "out of range", body
    # The environment keeps serving after a handled failure.
    again = invoke(name, {"tag": "after"})
    assert again["function_error"] is None, again
    assert json.loads(again["payload"])["invocations"] == 2


@pytest.mark.parametrize("handler, index, error_type", [
    ("index.missing", HANDLER, "Runtime.HandlerNotFound"),
    ("nothere.handler", HANDLER, "Runtime.ImportModuleError"),
    ("index.handler", "export const handler = async () => {\n", "Runtime.UserCodeSyntaxError"),
], ids=["missing-export", "missing-module", "syntax"])
def test_init_error(ric_function, invoke, handler, index, error_type):
    name = ric_function(handler=handler, index=index)["FunctionName"]
    result = invoke(name, {})
    assert result["status"] == 200 and result["function_error"] == "Unhandled", result
    body = json.loads(result["payload"])
    assert body["errorType"] == error_type, body
    assert body["errorMessage"], body
