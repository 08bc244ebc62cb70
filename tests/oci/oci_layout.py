"""OCI image layouts built from a spec, and a throwaway docker-registry to serve them, for tests.

Used by the C++ OCI tests (src/codestore/oci/testing/test_registry.cc, through the CLI below)
and by the end-to-end tests (tests/e2e, by import: sys.path gets tests/oci). Standard library
only; runs under Debian's python3. Serving and pushing need Debian's `docker-registry`, `skopeo`,
`htpasswd` (apache2-utils) and, for token auth, `openssl`; missing_tools() lists what is absent.
zstd layers are written as raw-block zstd frames, so no zstd compressor is needed.

A spec (a dict, or the same as JSON) describes one image or an index of several:

    image = {
      "os": "linux", "architecture": "amd64",          # defaults shown; "variant" optional
      "config": {"Entrypoint": [...], "Cmd": [...], "Env": ["K=V"], "WorkingDir": "/app"},
      "layers": [                                       # bottom first
        {"compression": "gzip",                         # "gzip" (default), "none" or "zstd"
         "prefix": "",                                  # prepended to every tar name: "./", "/"
         "entries": [
           {"type": "dir", "path": "app", "mode": 0o755},
           {"type": "file", "path": "app/run", "content": "text", "mode": 0o755},
           {"type": "symlink", "path": "app/link", "target": "run"},
           {"type": "hardlink", "path": "app/hard", "target": "app/run"},
           {"type": "whiteout", "path": "etc/old"},     # tar entry etc/.wh.old
           {"type": "opaque", "path": "var/cache"},     # tar entry var/cache/.wh..wh..opq
           {"type": "fifo", "path": "run/pipe"},
           {"type": "chardev" | "blockdev", "path": "dev/null", "major": 1, "minor": 3},
         ]}],
    }
    spec = image                        # the tag names the image manifest
    spec = {"index": [image, image]}    # the tag names an image index of these platforms

build_layout(spec, directory, tag) writes an OCI image layout (image-spec image-layout.md) and
returns what it wrote: {"tag", "digest" (of what the tag names), "media_type", "manifests": [
{"digest", "size", "platform", "config": {"digest", "size"}, "layers": [{"digest", "size",
"diff_id", "media_type"}]}]}. Output is deterministic: the same spec gives the same digests.

Registry(...) starts /usr/bin/docker-registry on 127.0.0.1 with a free port, storage in a temp
dir, optionally with htpasswd basic auth (the registry accepts it over plain HTTP) or with Bearer
tokens from a TokenServer here; push() copies a layout into it with skopeo, upload() byte for
byte. CLI:

    oci_layout.py build SPEC.json DIR [--tag T]                 prints build_layout's result
    oci_layout.py registry [--storage DIR] [--htpasswd U:P | --token-auth U:P] [--redirector]
        prints {"address", "port", "storage", "pid"[, "redirector"]} on one line once the
        registry answers, serves until stdin closes (or SIGTERM), then stops
    oci_layout.py push DIR TAG HOST:PORT/REPO:TAG [--all] [--creds U:P] [--format v2s2]
        skopeo copy; prints {"digest"} of what it pushed
    oci_layout.py upload DIR TAG HOST:PORT/REPO:TAG [--creds U:P]
        the same byte for byte through the registry API (no skopeo); prints {"digest"}
    oci_layout.py check                                         prints {"missing": [tools]}
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
LAYER_MEDIA_TYPES = {
    "none": OCI_LAYER,
    "gzip": OCI_LAYER + "+gzip",
    "zstd": OCI_LAYER + "+zstd",
}
REF_NAME = "org.opencontainers.image.ref.name"
WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"

REGISTRY_BIN = "/usr/bin/docker-registry"
SKOPEO_BIN = "/usr/bin/skopeo"
HTPASSWD_BIN = "/usr/bin/htpasswd"
OPENSSL_BIN = "/usr/bin/openssl"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


class _Blobs:
    """The blobs/ directory of a layout: write-once, content-addressed."""

    def __init__(self, root: str):
        self.dir = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.dir, exist_ok=True)

    def put(self, data: bytes) -> dict:
        digest = _digest(data)
        with open(os.path.join(self.dir, digest.split(":", 1)[1]), "wb") as f:
            f.write(data)
        return {"digest": digest, "size": len(data)}


def _split_parent(path: str) -> tuple[str, str]:
    path = path.strip("/")
    parent, _, name = path.rpartition("/")
    return parent, name


def _tar_info(entry: dict, prefix: str) -> tuple[tarfile.TarInfo, bytes | None]:
    kind = entry["type"]
    path = entry["path"].strip("/")
    content = None
    if kind == "whiteout":
        parent, name = _split_parent(path)
        path = (parent + "/" if parent else "") + WHITEOUT_PREFIX + name
    elif kind == "opaque":
        path = (path + "/" if path else "") + OPAQUE
    info = tarfile.TarInfo(prefix + path)
    info.mtime = 0
    info.uname = info.gname = "root"
    if kind == "file":
        content = entry.get("content", "")
        content = content.encode() if isinstance(content, str) else bytes(content)
        info.type = tarfile.REGTYPE
        info.size = len(content)
        info.mode = entry.get("mode", 0o644)
    elif kind == "dir":
        info.type = tarfile.DIRTYPE
        info.mode = entry.get("mode", 0o755)
    elif kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = entry["target"]
        info.mode = 0o777
    elif kind == "hardlink":
        info.type = tarfile.LNKTYPE
        info.linkname = prefix + entry["target"].strip("/")
        info.mode = entry.get("mode", 0o644)
    elif kind in ("whiteout", "opaque"):
        info.type = tarfile.REGTYPE
        info.size = 0
        info.mode = 0o644
        content = b""
    elif kind == "fifo":
        info.type = tarfile.FIFOTYPE
        info.mode = 0o644
    elif kind in ("chardev", "blockdev"):
        info.type = tarfile.CHRTYPE if kind == "chardev" else tarfile.BLKTYPE
        info.devmajor = entry.get("major", 1)
        info.devminor = entry.get("minor", 3)
        info.mode = 0o666
    else:
        raise ValueError(f"unknown entry type {kind!r} in layer spec")
    return info, content


def build_tar(entries: list[dict], prefix: str = "") -> bytes:
    """An uncompressed tar (PAX format) holding `entries` in order."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info, content = _tar_info(entry, prefix)
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return out.getvalue()


def zstd_frame(data: bytes) -> bytes:
    """A valid zstd frame (RFC 8878) holding `data` in raw, uncompressed blocks: what a zstd
    layer looks like to a reader, without needing a zstd compressor."""
    block_max = 128 * 1024
    # Frame header: no checksum, no dictionary, no content size; window 2^17 (descriptor 0x38).
    out = bytearray(b"\x28\xb5\x2f\xfd\x00\x38")
    chunks = [data[i:i + block_max] for i in range(0, len(data), block_max)] or [b""]
    for n, chunk in enumerate(chunks):
        last = 1 if n == len(chunks) - 1 else 0
        header = (len(chunk) << 3) | (0 << 1) | last  # block type 0: raw
        out += header.to_bytes(3, "little") + chunk
    return bytes(out)


def compress(data: bytes, compression: str) -> bytes:
    if compression == "none":
        return data
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        return zstd_frame(data)
    raise ValueError(f"unknown compression {compression!r}")


def _build_image(image: dict, blobs: _Blobs) -> dict:
    layers = []
    for layer in image.get("layers", []):
        compression = layer.get("compression", "gzip")
        tar = build_tar(layer.get("entries", []), layer.get("prefix", ""))
        desc = blobs.put(compress(tar, compression))
        desc["media_type"] = LAYER_MEDIA_TYPES[compression]
        desc["diff_id"] = _digest(tar)
        layers.append(desc)
    platform = {"architecture": image.get("architecture", "amd64"), "os": image.get("os", "linux")}
    if "variant" in image:
        platform["variant"] = image["variant"]
    config = dict(platform)
    config["config"] = {k: v for k, v in image.get("config", {}).items() if v is not None}
    config["rootfs"] = {"type": "layers", "diff_ids": [layer["diff_id"] for layer in layers]}
    config["history"] = [{"created_by": "oci_layout.py"} for _ in layers]
    config_desc = blobs.put(_canonical_json(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config_desc},
        "layers": [{"mediaType": layer["media_type"], "digest": layer["digest"],
                    "size": layer["size"]} for layer in layers],
    }
    manifest_desc = blobs.put(_canonical_json(manifest))
    return {**manifest_desc, "platform": platform, "config": config_desc, "layers": layers}


def build_layout(spec: dict, directory: str, tag: str = "latest") -> dict:
    """Writes an OCI image layout for `spec` (see the module doc) into `directory`."""
    os.makedirs(directory, exist_ok=True)
    blobs = _Blobs(directory)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    images = spec["index"] if "index" in spec else [spec]
    manifests = [_build_image(image, blobs) for image in images]
    if "index" in spec:
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": m["digest"], "size": m["size"],
                           "platform": m["platform"]} for m in manifests],
        }
        top = {**blobs.put(_canonical_json(index)), "media_type": OCI_INDEX}
    else:
        top = {"digest": manifests[0]["digest"], "size": manifests[0]["size"],
               "media_type": OCI_MANIFEST}
    layout_index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": top["media_type"], "digest": top["digest"],
                       "size": top["size"], "annotations": {REF_NAME: tag}}],
    }
    with open(os.path.join(directory, "index.json"), "wb") as f:
        f.write(_canonical_json(layout_index))
    return {"tag": tag, "digest": top["digest"], "media_type": top["media_type"],
            "manifests": manifests}


def _die_with_parent():
    """In the registry's child process before exec: SIGTERM it when we die (PR_SET_PDEATHSIG),
    so a test runner killed outright leaves no registry behind."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the registry outlives a killed parent


def _lines_to_file(stream, path: str, listening: threading.Event, found: list):
    """Copies the registry's log to `path`; records the address it says it listens on."""
    pattern = re.compile(r'listening on (\S+?)"?(\s|$)')
    with open(path, "w") as log:
        for line in stream:
            log.write(line)
            log.flush()
            if not listening.is_set():
                match = pattern.search(line)
                if match:
                    found.append(match.group(1))
                    listening.set()
    listening.set()  # the registry exited: wake the waiter, who sees no address


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """A token service for docker-registry's `auth: token` (distribution's token spec): issues
    RS256 JWTs, signed with a fresh self-signed key (made and used with the openssl command), to
    clients that present `user:password` with Basic auth; others get 401. Grants every action
    asked for in `scope`. Runs on 127.0.0.1, a free port, in a thread of this process."""

    SERVICE = "hearth-test-registry"
    ISSUER = "hearth-test-token-issuer"

    def __init__(self, directory: str, user: str, password: str):
        self.user, self.password = user, password
        self.key_path = os.path.join(directory, "token-key.pem")
        self.cert_path = os.path.join(directory, "token-cert.pem")
        subprocess.run([OPENSSL_BIN, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=hearth-test-token", "-keyout", self.key_path,
                        "-out", self.cert_path], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        der = subprocess.run([OPENSSL_BIN, "x509", "-in", self.cert_path, "-outform", "DER"],
                             check=True, stdout=subprocess.PIPE).stdout
        self.x5c = base64.b64encode(der).decode()
        self.issued = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server._answer(self)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _sign(self, claims: dict) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = (_b64url(_canonical_json(header)) + "." +
                         _b64url(_canonical_json(claims))).encode()
        signature = subprocess.run([OPENSSL_BIN, "dgst", "-sha256", "-sign", self.key_path],
                                   input=signing_input, stdout=subprocess.PIPE, check=True).stdout
        return signing_input.decode() + "." + _b64url(signature)

    def _answer(self, request):
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            body = b'{"details": "incorrect username or password"}'
            request.send_response(401)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
            return
        query = urllib.parse.parse_qs(urllib.parse.urlparse(request.path).query)
        access = []
        for scope in query.get("scope", []):
            for one in scope.split(" "):
                kind, _, rest = one.partition(":")
                name, _, actions = rest.rpartition(":")
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        self.issued += 1
        token = self._sign({"iss": self.ISSUER, "sub": self.user, "aud": self.SERVICE,
                            "exp": now + 600, "nbf": now - 60, "iat": now,
                            "jti": f"hearth-{now}-{self.issued}", "access": access})
        body = json.dumps({"token": token, "access_token": token, "expires_in": 600}).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


class Redirector:
    """An HTTP front on 127.0.0.1 (free port, a thread of this process) that answers every GET
    with a redirect, to exercise a client's redirect handling against a real registry behind it:
    /v2/loop/... redirects to itself (forever), /v2/https/... to https://, /v2/relative/... first
    to a relative reference ("NAME?hop=1") on itself, then to `target`; anything else 307s to
    the same path on `target` ("host:port")."""

    def __init__(self, target: str):
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                front._answer(self)

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.target = target
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, request):
        path = request.path
        if path.startswith("/v2/loop/"):
            location = path
        elif path.startswith("/v2/https/"):
            location = f"https://{self.target}{path}"
        elif path.startswith("/v2/relative/"):
            base, _, query = path.partition("?")
            if query == "hop=1":
                location = f"http://{self.target}{base}"
            else:
                location = base.rsplit("/", 1)[-1] + "?hop=1"  # relative to the request's dir
        else:
            location = f"http://{self.target}{path}"
        request.send_response(307)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()


class Registry:
    """A docker-registry (distribution 2.8) on 127.0.0.1, storage in a temp dir unless given.

    `htpasswd` = (user, password) turns on basic auth (bcrypt entry made with htpasswd -B);
    `token_auth` = (user, password) turns on Bearer token auth with a TokenServer that accepts
    that user. Use as a context manager, or start()/stop(). stop() ends only what start() made.
    """

    def __init__(self, storage_dir: str | None = None, htpasswd: tuple[str, str] | None = None,
                 token_auth: tuple[str, str] | None = None, start_timeout: float = 30.0):
        if htpasswd and token_auth:
            raise ValueError("a registry has one auth method: htpasswd or token_auth")
        self._own_dir = tempfile.mkdtemp(prefix="hearth-registry-")
        self.storage_dir = storage_dir or os.path.join(self._own_dir, "storage")
        self.htpasswd = htpasswd
        self.token_auth = token_auth
        self.token_server: TokenServer | None = None
        self.start_timeout = start_timeout
        self.log_path = os.path.join(self._own_dir, "registry.log")
        self.proc: subprocess.Popen | None = None
        self.address = ""
        self.port = 0

    def __enter__(self) -> "Registry":
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _write_config(self) -> str:
        config = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": self.storage_dir},
                        "delete": {"enabled": True}},
            "http": {"addr": "127.0.0.1:0"},
        }
        if self.htpasswd:
            path = os.path.join(self._own_dir, "htpasswd")
            user, password = self.htpasswd
            entry = subprocess.run([HTPASSWD_BIN, "-Bbn", user, password], check=True,
                                   stdout=subprocess.PIPE, text=True).stdout
            with open(path, "w") as f:
                f.write(entry)
            config["auth"] = {"htpasswd": {"realm": "hearth-test", "path": path}}
        if self.token_auth:
            self.token_server = TokenServer(self._own_dir, *self.token_auth)
            config["auth"] = {"token": {"realm": self.token_server.realm,
                                        "service": TokenServer.SERVICE,
                                        "issuer": TokenServer.ISSUER,
                                        "rootcertbundle": self.token_server.cert_path}}
        path = os.path.join(self._own_dir, "config.yml")
        with open(path, "w") as f:
            json.dump(config, f)  # JSON is YAML
        return path

    def start(self) -> "Registry":
        tools = (REGISTRY_BIN,) + ((HTPASSWD_BIN,) if self.htpasswd else ()) + (
            (OPENSSL_BIN,) if self.token_auth else ())
        for tool in tools:
            if not os.access(tool, os.X_OK):
                raise FileNotFoundError(f"{tool} is missing (scripts/install-deps installs it)")
        os.makedirs(self.storage_dir, exist_ok=True)
        config = self._write_config()
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", config], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=_die_with_parent)
        listening = threading.Event()
        found: list[str] = []
        threading.Thread(target=_lines_to_file, args=(self.proc.stdout, self.log_path,
                                                      listening, found), daemon=True).start()
        if not listening.wait(self.start_timeout) or not found:
            self.stop()
            raise RuntimeError(f"docker-registry did not start; log {self.log_path}")
        self.address = found[0]
        self.port = int(self.address.rsplit(":", 1)[1])
        self._wait_ready()
        return self

    def _wait_ready(self):
        """Polls GET /v2/ until the registry answers (200, or 401 with auth on)."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=5).close()
                return
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    return
                error = e
            except OSError as e:
                error = e
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"docker-registry not answering on {self.address}: {error}")
            time.sleep(0.02)  # between polls of /v2/, not a wait for readiness

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # our own child, by its pid
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.token_server is not None:
            self.token_server.stop()
            self.token_server = None
        shutil.rmtree(self._own_dir, ignore_errors=True)

    def blob_path(self, digest: str) -> str:
        """Where the registry's filesystem driver keeps a blob's bytes."""
        algorithm, hexdigest = digest.split(":", 1)
        return os.path.join(self.storage_dir, "docker", "registry", "v2", "blobs", algorithm,
                            hexdigest[:2], hexdigest, "data")


def push(layout_dir: str, tag: str, dest: str, all_platforms: bool = False,
         creds: str | None = None, format: str | None = None) -> str:
    """skopeo copy oci:LAYOUT:TAG docker://DEST over plain HTTP; returns the pushed digest.

    `dest` is HOST:PORT/REPO:TAG. skopeo may rewrite what it pushes (it gzips uncompressed
    layers, and `format="v2s2"` converts to Docker media types), so the digest it reports can
    differ from build_layout's; upload() pushes the layout byte for byte instead.
    """
    if not os.access(SKOPEO_BIN, os.X_OK):
        raise FileNotFoundError(f"{SKOPEO_BIN} is missing (scripts/install-deps installs it)")
    with tempfile.TemporaryDirectory(prefix="hearth-skopeo-") as tmp:
        digest_file = os.path.join(tmp, "digest")
        cmd = [SKOPEO_BIN, "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
               "--digestfile", digest_file]
        if all_platforms:
            cmd.append("--all")
        if creds:
            cmd += ["--dest-creds", creds]
        if format:
            cmd += ["--format", format]
        cmd += [f"oci:{layout_dir}:{tag}", f"docker://{dest}"]
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stdout}")
        with open(digest_file) as f:
            return f.read().strip()


class _RegistryClient:
    """Just enough of the distribution API (spec: push) to upload blobs and manifests as they
    are, with Basic credentials or, when the registry asks for Bearer, a token got with them."""

    def __init__(self, address: str, repo: str, creds: str | None):
        self.base = f"http://{address}"
        self.repo = repo
        self.creds = creds
        self.headers = {}
        if creds:
            self.headers["Authorization"] = self._basic()

    def _basic(self) -> str:
        return "Basic " + base64.b64encode(self.creds.encode()).decode()

    def _fetch_token(self, challenge: str):
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = urllib.parse.urlencode({"service": params.get("service", ""),
                                        "scope": f"repository:{self.repo}:pull,push"})
        request = urllib.request.Request(f"{params['realm']}?{query}",
                                         headers={"Authorization": self._basic()})
        with urllib.request.urlopen(request, timeout=60) as response:
            self.headers["Authorization"] = "Bearer " + json.loads(response.read())["token"]

    def _request(self, method: str, url: str, data: bytes | None = None,
                 content_type: str | None = None, retry: bool = True):
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        full_url = url if url.startswith("http") else self.base + url
        request = urllib.request.Request(full_url, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=60)
        except urllib.error.HTTPError as e:
            challenge = e.headers.get("WWW-Authenticate", "")
            if e.code == 401 and retry and self.creds and challenge.startswith("Bearer "):
                self._fetch_token(challenge)
                return self._request(method, url, data, content_type, retry=False)
            raise

    def has_blob(self, digest: str) -> bool:
        try:
            self._request("HEAD", f"/v2/{self.repo}/blobs/{digest}").close()
            return True
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return False
            raise

    def put_blob(self, digest: str, data: bytes):
        if self.has_blob(digest):
            return
        with self._request("POST", f"/v2/{self.repo}/blobs/uploads/", b"") as response:
            location = response.headers["Location"]
        separator = "&" if "?" in location else "?"
        self._request("PUT", f"{location}{separator}digest={digest}", data,
                      "application/octet-stream").close()

    def put_manifest(self, reference: str, data: bytes, media_type: str):
        self._request("PUT", f"/v2/{self.repo}/manifests/{reference}", data, media_type).close()


def upload(layout_dir: str, tag: str, dest: str, creds: str | None = None) -> str:
    """Pushes the layout's image named `tag` to DEST (HOST:PORT/REPO:TAG) byte for byte, with
    every platform of an index; returns the digest DEST's tag names (build_layout's digest)."""
    address, _, rest = dest.partition("/")
    repo, _, dest_tag = rest.rpartition(":")
    client = _RegistryClient(address, repo, creds)
    blobs = os.path.join(layout_dir, "blobs")

    def read(digest: str) -> bytes:
        algorithm, hexdigest = digest.split(":", 1)
        with open(os.path.join(blobs, algorithm, hexdigest), "rb") as f:
            return f.read()

    def push_manifest(desc: dict, reference: str):
        data = read(desc["digest"])
        manifest = json.loads(data)
        for child in manifest.get("manifests", []):
            push_manifest(child, child["digest"])
        if "config" in manifest:
            for blob in [manifest["config"]] + manifest["layers"]:
                client.put_blob(blob["digest"], read(blob["digest"]))
        client.put_manifest(reference, data, desc["mediaType"])

    with open(os.path.join(layout_dir, "index.json")) as f:
        index = json.load(f)
    for desc in index["manifests"]:
        if desc.get("annotations", {}).get(REF_NAME) == tag:
            push_manifest(desc, dest_tag)
            return desc["digest"]
    raise KeyError(f"no image tagged {tag!r} in {layout_dir}")


def missing_tools() -> list[str]:
    """The programs Registry and push() need that this host lacks (empty: all there)."""
    return [tool for tool in (REGISTRY_BIN, SKOPEO_BIN, HTPASSWD_BIN, OPENSSL_BIN)
            if not os.access(tool, os.X_OK)]


def _serve(args) -> int:
    htpasswd = tuple(args.htpasswd.split(":", 1)) if args.htpasswd else None
    token_auth = tuple(args.token_auth.split(":", 1)) if args.token_auth else None
    registry = Registry(storage_dir=args.storage, htpasswd=htpasswd, token_auth=token_auth)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    registry.start()
    redirector = Redirector(registry.address) if args.redirector else None
    try:
        info = {"address": registry.address, "port": registry.port,
                "storage": registry.storage_dir, "pid": registry.proc.pid}
        if redirector:
            info["redirector"] = redirector.address
        print(json.dumps(info), flush=True)
        # Serve until our parent closes stdin (it exited, or wants us gone) or sends SIGTERM.
        reader = threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True)
        reader.start()
        stop.wait()
    finally:
        if redirector:
            redirector.stop()
        registry.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write an OCI layout from a JSON spec")
    build.add_argument("spec")
    build.add_argument("dir")
    build.add_argument("--tag", default="latest")
    serve = sub.add_parser("registry", help="run a docker-registry until stdin closes")
    serve.add_argument("--storage")
    serve.add_argument("--htpasswd", metavar="USER:PASSWORD")
    serve.add_argument("--token-auth", metavar="USER:PASSWORD")
    serve.add_argument("--redirector", action="store_true",
                       help="also run a Redirector in front of it")
    pusher = sub.add_parser("push", help="skopeo copy a layout into a registry")
    pusher.add_argument("dir")
    pusher.add_argument("tag")
    pusher.add_argument("dest", metavar="HOST:PORT/REPO:TAG")
    pusher.add_argument("--all", action="store_true")
    pusher.add_argument("--creds", metavar="USER:PASSWORD")
    pusher.add_argument("--format", choices=["oci", "v2s2"])
    sub.add_parser("check", help="print {\"missing\": [tools this host lacks]}")
    uploader = sub.add_parser("upload", help="push a layout byte for byte (no skopeo)")
    uploader.add_argument("dir")
    uploader.add_argument("tag")
    uploader.add_argument("dest", metavar="HOST:PORT/REPO:TAG")
    uploader.add_argument("--creds", metavar="USER:PASSWORD")
    args = parser.parse_args(argv)

    if args.command == "build":
        with open(args.spec) as f:
            spec = json.load(f)
        print(json.dumps(build_layout(spec, args.dir, args.tag)))
        return 0
    if args.command == "registry":
        return _serve(args)
    if args.command == "check":
        print(json.dumps({"missing": missing_tools()}))
        return 0
    if args.command == "upload":
        print(json.dumps({"digest": upload(args.dir, args.tag, args.dest, creds=args.creds)}))
        return 0
    digest = push(args.dir, args.tag, args.dest, all_platforms=args.all, creds=args.creds,
                  format=args.format)
    print(json.dumps({"digest": digest}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
