"""Bad input: malformed requests, out-of-range configuration and hostile zips are refused with
Lambda's error codes, and leave nothing behind (shared/refs/lambda-api.md §1, §2, §7)."""

import io
import json
import os
import re
import struct
import zipfile

import pytest

import hearth_e2e as he

PYTHON_ZIP = he.make_zip({"app.py": he.PROBE_HANDLER})
UNZIP_LIMIT_MESSAGE = "Unzipped size must be smaller than 262144000 bytes"


def assert_error(exc, code: str, status: int) -> dict:
    got_code, got_status, resp = he.client_error(exc)
    assert (got_code, got_status) == (code, status), resp
    assert resp["Error"]["Message"], resp
    assert resp.get("Type") in ("User", "Service"), resp
    return resp


def assert_not_created(lam, name: str) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_configuration(FunctionName=name)


def create_params(name: str, **overrides) -> dict:
    params = dict(FunctionName=name, Role=he.ROLE, Runtime="python3.11", Handler="app.handler",
                  Code={"ZipFile": PYTHON_ZIP})
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def disk_usage(root) -> int:
    """Bytes actually allocated under root (sparse-aware)."""
    total = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def test_malformed_json_body(raw_request):
    resp = raw_request("POST", "/2015-03-31/functions", body=b'{"FunctionName": "x", ',
                       headers={"content-type": "application/json"})
    assert (resp.status, resp.error_code) == (400, "InvalidRequestContentException"), resp
    body = resp.json()
    assert body.get("Type") == "User" and (body.get("message") or body.get("Message")), body


@pytest.mark.parametrize("missing", ["Role", "Handler", "Runtime"])
def test_missing_required_fields(lam_unvalidated, missing):
    lam = lam_unvalidated
    name = f"e2e-missing-{missing.lower()}-{he.unique_suffix()}"
    with pytest.raises(lam.exceptions.ClientError) as exc:
        lam.create_function(**create_params(name, **{missing: None}))
    assert_error(exc, "InvalidParameterValueException", 400)
    assert_not_created(lam, name)


BAD_CONFIG = {
    "memory-127": dict(MemorySize=127),
    "memory-10241": dict(MemorySize=10241),
    "timeout-0": dict(Timeout=0),
    "timeout-901": dict(Timeout=901),
    "ephemeral-511": dict(EphemeralStorage={"Size": 511}),
    "ephemeral-10241": dict(EphemeralStorage={"Size": 10241}),
    "env-over-4kb": dict(Environment={"Variables": {"BIG": "x" * 4200}}),
}


@pytest.mark.parametrize("overrides", BAD_CONFIG.values(), ids=BAD_CONFIG.keys())
def test_out_of_range_configuration(lam_unvalidated, overrides):
    lam = lam_unvalidated
    name = f"e2e-bad-config-{he.unique_suffix()}"
    with pytest.raises(lam.exceptions.ClientError) as exc:
        lam.create_function(**create_params(name, **overrides))
    assert_error(exc, "InvalidParameterValueException", 400)
    assert_not_created(lam, name)


@pytest.mark.parametrize("name", ["e" * 65, "bad name!", "bad/name", "bad%name"],
                         ids=["65-chars", "space-bang", "slash", "percent"])
def test_invalid_function_names(lam_unvalidated, name):
    lam = lam_unvalidated
    with pytest.raises(lam.exceptions.ClientError) as exc:
        lam.create_function(**create_params(name))
    assert_error(exc, "InvalidParameterValueException", 400)
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert name not in names


def test_update_configuration_is_validated_too(lam_unvalidated, create_function):
    lam = lam_unvalidated
    name = create_function()["FunctionName"]
    with pytest.raises(lam.exceptions.ClientError) as exc:
        lam.update_function_configuration(FunctionName=name, MemorySize=10241)
    assert_error(exc, "InvalidParameterValueException", 400)
    assert lam.get_function_configuration(FunctionName=name)["MemorySize"] == 128


def test_not_a_zip(lam, create_function):
    name = f"e2e-not-zip-{he.unique_suffix()}"
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as exc:
        lam.create_function(**create_params(name, Code={"ZipFile": b"this is not a zip file"}))
    resp = assert_error(exc, "InvalidParameterValueException", 400)
    assert resp["Error"]["Message"].startswith("Could not unzip uploaded file"), resp
    assert_not_created(lam, name)

    existing = create_function()
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_code(FunctionName=existing["FunctionName"], ZipFile=b"PK\x03\x04junk")
    after = lam.get_function_configuration(FunctionName=existing["FunctionName"])
    assert after["CodeSha256"] == existing["CodeSha256"]


def hostile_zip(kind: str, evil: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app.py", he.PROBE_HANDLER)
        if kind == "dotdot":
            zf.writestr(zipfile.ZipInfo(f"../../../../../../../../tmp/{evil}"), "pwned")
        elif kind == "absolute":
            zf.writestr(zipfile.ZipInfo(f"/tmp/{evil}"), "pwned")
        elif kind == "symlink":
            link = zipfile.ZipInfo("escape")
            link.create_system = 3
            link.external_attr = (0o120777 << 16)
            zf.writestr(link, "../../../../../../../../tmp")
            zf.writestr(zipfile.ZipInfo(f"escape/{evil}"), "pwned")
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_zip_entries_escaping_the_code_dir_are_rejected(hearthd, lam, kind):
    evil = f"hearth-e2e-evil-{he.unique_suffix()}"
    name = f"e2e-zip-{kind}-{he.unique_suffix()}"
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as exc:
        lam.create_function(**create_params(name, Code={"ZipFile": hostile_zip(kind, evil)}))
    assert_error(exc, "InvalidParameterValueException", 400)
    assert_not_created(lam, name)
    assert not os.path.exists(f"/tmp/{evil}")
    assert not list(hearthd.data_dir.parent.rglob(f"*{evil}*")), "an escaping entry was written"


def zero_entries(sizes_mb: list[int]) -> bytes:
    buf = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app.py", he.PROBE_HANDLER)
        for i, size in enumerate(sizes_mb):
            info = zipfile.ZipInfo(f"zeros-{i}.bin")
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as f:
                for _ in range(size):
                    f.write(chunk)
    return buf.getvalue()


def lie_about_sizes(zip_bytes: bytes, entry: str, claimed: int) -> bytes:
    """Rewrites the uncompressed size of `entry` in its local and central headers."""
    data = bytearray(zip_bytes)
    info = zipfile.ZipFile(io.BytesIO(zip_bytes)).getinfo(entry)
    assert data[info.header_offset:info.header_offset + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, info.header_offset + 22, claimed)
    name = entry.encode()
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46:central + 46 + name_len]) == name:
            struct.pack_into("<I", data, central + 24, claimed)
            return bytes(data)
        central = data.find(b"PK\x01\x02", central + 4)
    raise AssertionError(f"{entry} not in the central directory")


@pytest.fixture(scope="module")
def zip_bombs():
    one_big = zero_entries([300])
    return {
        "one-300mb-entry": one_big,
        "many-1mb-entries": zero_entries([1] * 260),
        "lying-header": lie_about_sizes(one_big, "zeros-0.bin", 1 << 20),
    }


@pytest.mark.parametrize("kind", ["one-300mb-entry", "many-1mb-entries", "lying-header"])
def test_zip_bombs_are_refused(hearthd, lam, zip_bombs, kind):
    name = f"e2e-bomb-{he.unique_suffix()}"
    before = disk_usage(hearthd.data_dir)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as exc:
        lam.create_function(**create_params(name, Code={"ZipFile": zip_bombs[kind]}))
    message = assert_error(exc, "InvalidParameterValueException", 400)["Error"]["Message"]
    if kind == "lying-header":
        assert message == UNZIP_LIMIT_MESSAGE or message.startswith(
            "Could not unzip uploaded file"), message
    else:
        assert message == UNZIP_LIMIT_MESSAGE
    assert_not_created(lam, name)
    grown = disk_usage(hearthd.data_dir) - before
    assert grown < 64 << 20, f"the data dir grew by {grown >> 20} MB for a refused zip"


def test_duplicate_create_conflicts(lam, create_function):
    name = create_function()["FunctionName"]
    before = lam.get_function_configuration(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceConflictException) as exc:
        lam.create_function(**create_params(name, Handler="other.handler", Timeout=9))
    assert_error(exc, "ResourceConflictException", 409)
    after = lam.get_function_configuration(FunctionName=name)
    for key in ("Handler", "Timeout", "RevisionId", "CodeSha256", "LastModified"):
        assert after[key] == before[key], key


def test_unknown_function_is_not_found(lam, invoke):
    name = f"e2e-never-created-{he.unique_suffix()}"
    calls = {
        "get": lambda: lam.get_function(FunctionName=name),
        "configuration": lambda: lam.get_function_configuration(FunctionName=name),
        "invoke": lambda: invoke(name, {}),
        "update-code": lambda: lam.update_function_code(FunctionName=name, ZipFile=PYTHON_ZIP),
        "update-config": lambda: lam.update_function_configuration(FunctionName=name, Timeout=5),
        "delete": lambda: lam.delete_function(FunctionName=name),
        "concurrency": lambda: lam.put_function_concurrency(FunctionName=name,
                                                            ReservedConcurrentExecutions=1),
    }
    pattern = re.compile(r"Function not found: arn:aws:lambda:us-east-1:\d{12}:function:"
                         + re.escape(name))
    for what, call in calls.items():
        with pytest.raises(lam.exceptions.ResourceNotFoundException) as exc:
            call()
        resp = assert_error(exc, "ResourceNotFoundException", 404)
        assert pattern.fullmatch(resp["Error"]["Message"]), (what, resp)


def test_invalid_json_payload_is_the_runtimes_error(create_function, invoke):
    name = create_function()["FunctionName"]
    result = invoke(name, b'{"op": "echo", ')
    assert result["status"] == 200 and result["function_error"] == "Unhandled", result
    body = json.loads(result["payload"])
    assert body["errorType"] == "Runtime.UnmarshalError", body
    assert body["errorMessage"], body
    # The sandbox is still good for well-formed events.
    assert json.loads(invoke(name, {"op": "echo"})["payload"]) == {"event": {"op": "echo"}}
