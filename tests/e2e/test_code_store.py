"""The code store through the real daemon: no plaintext of any function in the data dir,
versions deduplicated (hearthd stats), and a tampered chunk that stops the function from running
instead of running altered code (docs/formats/code-store.md)."""

import hashlib
import json
import os
import random
import subprocess
from pathlib import Path

import pytest

import hearth_e2e as he

HANDLER = "import json\ndef handler(event, context):\n    return {'marker': MARKER}\n"


def function_files(marker: str, version: int) -> dict:
    # A 2 MiB library (its own chunks) and a handler that names the version.
    lib = random.Random(7).randbytes(2 << 20)
    return {"app.py": f"MARKER = {marker!r} + '-{version}'\n" + HANDLER, "lib/big.bin": lib}


def files_under(root: Path):
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            if p.is_file() and not p.is_symlink():
                yield p


def test_no_plaintext_at_rest_and_versions_deduplicated(spawn_hearthd):
    server = spawn_hearthd()
    lam = he.lambda_client(server.endpoint, server.access_key, server.secret_key, server.region)
    marker = "hearth-e2e-marker-" + he.unique_suffix()
    name = "codestore-" + he.unique_suffix()
    files = function_files(marker, 1)
    he.create_and_wait(lam, name, zip_bytes=he.make_zip(files))
    out = he.invoke_result(lam.invoke(FunctionName=name, Payload=b"{}"))
    assert json.loads(out["payload"]) == {"marker": marker + "-1"}
    for v in (2, 3, 4):
        lam.update_function_code(FunctionName=name,
                                 ZipFile=he.make_zip(function_files(marker, v)))
        he.wait_updated(lam, name)
    out = he.invoke_result(lam.invoke(FunctionName=name, Payload=b"{}"))
    assert json.loads(out["payload"]) == {"marker": marker + "-4"}

    # Neither the handler's text nor the library, nor the library's hash, is anywhere on disk
    # under the data dir (the keyring aside, which holds only keys).
    lib = files["lib/big.bin"]
    needles = [marker.encode(), lib[1000:1064], hashlib.sha256(lib).digest(),
               hashlib.sha256(lib).hexdigest().encode()]
    for path in files_under(server.data_dir):
        if path.name == "keyring" or path.suffix == ".log" or "sandboxes" in path.parts:
            continue
        data = path.read_bytes()
        for n in needles:
            assert n not in data, f"{path} holds plaintext"

    # Four versions sharing the library: stored about once. Updates drop the old versions'
    # objects (only $LATEST exists), so what is left is one object's worth.
    stats = server.code_stats()
    account = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"].split(":")[4]
    mine = stats[account]
    assert mine["CodeObjects"] == 1
    assert mine["LogicalBytes"] >= len(lib)
    assert len(lib) <= mine["StoredBytes"] < len(lib) + (256 << 10)


def test_a_tampered_chunk_is_never_run(spawn_hearthd):
    server = spawn_hearthd()
    lam = he.lambda_client(server.endpoint, server.access_key, server.secret_key, server.region)
    name = "tamper-" + he.unique_suffix()
    he.create_and_wait(lam, name,
                       zip_bytes=he.make_zip(function_files("tamper", 1)))
    server.stop()
    # Flip one byte in every stored chunk; a restart empties the host's decrypted cache, so the
    # next invoke must read the chunks again.
    chunks = list(files_under(server.data_dir / "code" / "blobs" / "chunks"))
    assert chunks
    for path in chunks:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    server.start()
    lam = he.lambda_client(server.endpoint, server.access_key, server.secret_key, server.region)
    with pytest.raises(lam.exceptions.ServiceException) as e:
        lam.invoke(FunctionName=name, Payload=b"{}")
    message = str(e.value)
    assert name in message and "chunk" in message and "failed its MAC" in message, message


def test_key_rotation_keeps_every_function_running(spawn_hearthd):
    server = spawn_hearthd()
    lam = he.lambda_client(server.endpoint, server.access_key, server.secret_key, server.region)
    name = "rotate-" + he.unique_suffix()
    he.create_and_wait(lam, name, zip_bytes=he.make_zip(function_files("rotate", 1)))
    chunks_before = {p: p.read_bytes()
                     for p in files_under(server.data_dir / "code" / "blobs" / "chunks")}
    keyring_before = json.loads((server.data_dir / "keyring").read_text())
    server.stop()
    subprocess.run([str(he.hearthd_binary()), "rotate-keys", "--data-dir", str(server.data_dir)],
                   check=True, capture_output=True, timeout=60)
    keyring = json.loads((server.data_dir / "keyring").read_text())
    assert [k["id"] for k in keyring["master_keys"]] == [keyring_before["current"] + 1]
    assert keyring["salt_secret"] == keyring_before["salt_secret"]
    # Chunks are untouched; the restarted daemon (empty host cache) reads them with the
    # re-wrapped data keys.
    assert {p: p.read_bytes() for p in chunks_before} == chunks_before
    server.start()
    lam = he.lambda_client(server.endpoint, server.access_key, server.secret_key, server.region)
    out = he.invoke_result(lam.invoke(FunctionName=name, Payload=b"{}"))
    assert json.loads(out["payload"]) == {"marker": "rotate-1"}
