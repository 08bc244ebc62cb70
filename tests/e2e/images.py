"""Container images for the end-to-end tests of image functions (PackageType Image), and a
throwaway registry to serve them from.

The image runs tests/images/runtime.c (`hearth-test-image-runtime`, statically linked): a custom
runtime that answers every invoke with {"argv", "cwd", "env", "event", "file", "file_error"}, so a
test sees which entrypoint, command, working directory, environment and image tree the sandbox
ran (see runtime.c for the exact shape; the event "crash" makes it report a function error).

    image = build_runtime_image(tmp_path / "v1", images.runtime_binary())
    registry = start_registry(tmp_path)           # stop() it when done
    digest = registry.push(image.layout_dir, "fn", image.tag)
    create_function(PackageType="Image", Code={"ImageUri": registry.image_uri("fn", image.tag)},
                    runtime=None, handler=None)

The image (two gzip layers, linux/amd64):
- layer 1: /usr/local/bin/runtime (0755), /etc/passwd, /data/base.txt ("base"), directory /app;
- layer 2: /data/extra.txt ("extra", or "extra-<variant>") and a whiteout of /data/base.txt;
- config: Entrypoint ["/usr/local/bin/runtime"], Cmd ["/data/extra.txt"], WorkingDir "/app",
  Env HEARTH_IMAGE_VAR=from-image and PATH=/usr/local/bin:/usr/bin:/bin.
So the default invoke reports file "extra" and cwd "/app"; ImageConfig Command ["/data/base.txt"]
reports file null with file_error set (the whiteout removed it).

Layouts and registries come from tests/oci/oci_layout.py (standard library only); this module
adds only the image's spec and a small facade. Nothing here needs boto3 or pytest except
runtime_binary(), which asks hearth_e2e where the binaries are.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "oci"))
import oci_layout  # noqa: E402  (tests/oci, put on sys.path above)

RUNTIME_NAME = "hearth-test-image-runtime"
RUNTIME_PATH = "/usr/local/bin/runtime"  # where the image keeps it
ENTRYPOINT = [RUNTIME_PATH]
CMD = ["/data/extra.txt"]
WORKING_DIR = "/app"
IMAGE_ENV = {"HEARTH_IMAGE_VAR": "from-image", "PATH": "/usr/local/bin:/usr/bin:/bin"}
BASE_TEXT = "base"
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"


def runtime_binary() -> Path:
    """The built hearth-test-image-runtime: $HEARTH_BIN_DIR (set by CTest) or <repo>/build/bin."""
    import hearth_e2e  # imported here: it needs boto3 and pytest, the rest of this module not

    return hearth_e2e.bin_dir() / RUNTIME_NAME


def extra_text(variant: str | None = None) -> str:
    """What /data/extra.txt holds in the image built with `variant`."""
    return "extra" if variant is None else f"extra-{variant}"


@dataclass
class RuntimeImage:
    """An image written by build_runtime_image: push it with ImageRegistry.push(layout_dir,
    repo, tag)."""

    layout_dir: str
    tag: str
    digest: str  # of the image manifest in the layout (what the tag names)
    extra_text: str  # contents of /data/extra.txt
    built: dict  # oci_layout.build_layout's full result (layers, config digests, ...)


def image_spec(runtime: bytes, variant: str | None = None) -> dict:
    """The oci_layout spec of the test image (see the module doc) around the runtime's bytes."""
    base_layer = [
        {"type": "dir", "path": "usr"},
        {"type": "dir", "path": "usr/local"},
        {"type": "dir", "path": "usr/local/bin"},
        {"type": "file", "path": RUNTIME_PATH, "content": runtime, "mode": 0o755},
        {"type": "dir", "path": "etc"},
        {"type": "file", "path": "etc/passwd", "content": PASSWD},
        {"type": "dir", "path": "data"},
        {"type": "file", "path": "data/base.txt", "content": BASE_TEXT},
        {"type": "dir", "path": WORKING_DIR},
    ]
    top_layer = [
        {"type": "file", "path": "data/extra.txt", "content": extra_text(variant)},
        {"type": "whiteout", "path": "data/base.txt"},
    ]
    return {
        "os": "linux",
        "architecture": "amd64",
        "config": {"Entrypoint": ENTRYPOINT, "Cmd": CMD, "WorkingDir": WORKING_DIR,
                   "Env": [f"{k}={v}" for k, v in IMAGE_ENV.items()]},
        "layers": [{"entries": base_layer}, {"entries": top_layer}],
    }


def build_runtime_image(layout_dir, runtime_binary, tag: str = "v1",
                        variant: str | None = None) -> RuntimeImage:
    """Writes the test image into a fresh OCI layout at `layout_dir` under `tag`.

    `runtime_binary` is the path of the built hearth-test-image-runtime. `variant` changes only
    layer 2 (/data/extra.txt holds "extra-<variant>"), so two builds give two images with the
    same base layer, e.g. for UpdateFunctionCode. The layout holds this one tag: build each
    image into its own directory. Deterministic: the same inputs give the same digest.
    """
    with open(runtime_binary, "rb") as f:
        runtime = f.read()
    built = oci_layout.build_layout(image_spec(runtime, variant), str(layout_dir), tag)
    return RuntimeImage(layout_dir=str(layout_dir), tag=tag, digest=built["digest"],
                        extra_text=extra_text(variant), built=built)


class ImageRegistry:
    """A started docker-registry (oci_layout.Registry) on loopback, open or with basic auth.

    `.host` is "127.0.0.1:PORT", the registry part of an ImageUri. Not thread-safe; stop() is
    idempotent. Also a context manager.
    """

    def __init__(self, registry: oci_layout.Registry, creds: tuple[str, str] | None = None):
        self._registry = registry
        self._creds = f"{creds[0]}:{creds[1]}" if creds else None
        self.host = registry.address

    def push(self, layout_dir, repo: str, tag: str, format: str | None = None) -> str:
        """Copies the layout's image `tag` to HOST/REPO:TAG with skopeo; returns the digest the
        registry's tag names. As built (OCI media types) that is RuntimeImage.digest, and a GET
        of the manifest must Accept application/vnd.oci.image.manifest.v1+json (docker-registry
        2.8 answers 404 otherwise). `format="v2s2"` converts to Docker media types instead,
        which changes the digest."""
        return oci_layout.push(str(layout_dir), tag, f"{self.host}/{repo}:{tag}", format=format,
                               creds=self._creds)

    def image_uri(self, repo: str, tag: str) -> str:
        return f"{self.host}/{repo}:{tag}"

    @property
    def log_path(self) -> str:
        return self._registry.log_path

    def stop(self) -> None:
        self._registry.stop()

    def __enter__(self) -> "ImageRegistry":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_registry(tmp_path, basic_auth: tuple[str, str] | None = None) -> ImageRegistry:
    """Starts Debian's docker-registry on 127.0.0.1 (a free port), its storage under
    `tmp_path`/registry; with `basic_auth` = (user, password) it requires those credentials
    (htpasswd), and push() presents them. Raises FileNotFoundError when docker-registry is not installed (and
    push() when skopeo is not); the caller stops it:

        @pytest.fixture
        def registry(tmp_path):
            with images.start_registry(tmp_path) as reg:
                yield reg
    """
    storage = os.path.join(str(tmp_path), "registry")
    registry = oci_layout.Registry(storage_dir=storage, htpasswd=basic_auth).start()
    return ImageRegistry(registry, basic_auth)
