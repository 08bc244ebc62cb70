"""A second real AWS SDK against hearthd: the AWS SDK for JavaScript v3 (npm
@aws-sdk/client-lambda, pure JS). It signs differently from boto3 (it always sends
x-amz-content-sha256 and sends Invoke payloads as application/octet-stream), so this proves the
control plane and Invoke accept what it sends and that it can parse what hearthd answers,
modelled errors included.

The package comes from scripts/fetch-aws-sdk-js into <build>/cache/aws-sdk-js (a few seconds);
the test skips when the npm registry is unreachable. tests/e2e/js_sdk_client.mjs makes the calls
and prints one JSON line; the assertions are here."""

import base64
import json
import os
import shutil
import subprocess
import time

import pytest

import hearth_e2e as he

_REGISTRY_UNREACHABLE = 3  # scripts/fetch-aws-sdk-js's exit status for "offline"
_FETCH_TIMEOUT_S = 600
_CLIENT = he.REPO_ROOT / "tests" / "e2e" / "js_sdk_client.mjs"

ECHO_HANDLER = """
import os


def handler(event, context):
    out = {"echo": event, "requestId": context.aws_request_id}
    if "env" in event:
        out["value"] = os.environ.get(event["env"])
    print("js-sdk-log-marker", json.dumps(event))
    return out


import json
"""


@pytest.fixture(scope="module")
def sdk_dir():
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    cache = (he.bin_dir().parent / "cache" / "aws-sdk-js").resolve()
    script = he.REPO_ROOT / "scripts" / "fetch-aws-sdk-js"
    started = time.monotonic()
    proc = subprocess.run([str(script), str(cache)], capture_output=True, text=True,
                          timeout=_FETCH_TIMEOUT_S)
    elapsed = time.monotonic() - started
    if proc.returncode == _REGISTRY_UNREACHABLE:
        pytest.skip(f"npm registry unreachable, cannot install @aws-sdk/client-lambda: "
                    f"{proc.stderr}")
    assert proc.returncode == 0, f"fetch-aws-sdk-js failed ({elapsed:.0f} s):\n{proc.stderr}"
    print(f"fetch-aws-sdk-js took {elapsed:.1f} s")
    return cache


def test_js_sdk_lifecycle(hearthd, sdk_dir, create_function, make_zip):
    name = f"e2e-js-sdk-{he.unique_suffix()}"
    create_function.track(name)  # deleted at teardown if the script stops half-way
    zip_bytes = make_zip({"app.py": ECHO_HANDLER})
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(sdk_dir),
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "HEARTH_SDK_DIR": str(sdk_dir),
        "HEARTH_ENDPOINT": hearthd.endpoint,
        "HEARTH_ACCESS_KEY": hearthd.access_key,
        "HEARTH_SECRET_KEY": hearthd.secret_key,
        "HEARTH_REGION": hearthd.region,
        "HEARTH_FUNCTION": name,
        "HEARTH_ZIP_B64": base64.b64encode(zip_bytes).decode(),
    }
    proc = subprocess.run(["node", str(_CLIENT)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, (f"node exited {proc.returncode}\nstdout: {proc.stdout}\n"
                                  f"stderr: {proc.stderr}")
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no output; stderr: {proc.stderr}"
    out = json.loads(lines[-1])

    create = out["create"]
    assert create["status"] == 201, out
    assert create["functionName"] == name, out
    assert create["functionArn"].endswith(f":function:{name}"), out
    assert (create["runtime"], create["handler"]) == ("python3.11", "app.handler"), out
    assert create["codeSha256"] == he.code_sha256(zip_bytes), out

    assert out["get"]["functionName"] == name, out
    assert out["activeState"] == "Active", out
    assert out["listed"] is True, out

    first = out["invoke1"]
    assert first["status"] == 200 and first["functionError"] is None, first
    assert first["payload"]["echo"] == {"hello": "js-sdk", "n": [1, 2, 3]}, first
    assert first["payload"]["requestId"] == first["requestId"], first
    assert "js-sdk-log-marker" in first["log"], first
    assert "REPORT RequestId" in first["log"], first
    he.parse_report(first["log"], first["requestId"])

    assert out["update"]["status"] == 200, out
    assert out["update"]["variables"] == {"JS_SDK_MARKER": "from-js-sdk"}, out
    assert out["updateStatus"] == "Successful", out

    second = out["invoke2"]
    assert second["status"] == 200 and second["functionError"] is None, second
    assert second["payload"]["value"] == "from-js-sdk", second
    assert "REPORT RequestId" in second["log"], second

    assert out["missing"]["name"] == "ResourceNotFoundException", out
    assert out["missing"]["status"] == 404, out

    assert out["delete"]["status"] == 204, out
    assert out["afterDelete"] == "ResourceNotFoundException", out
