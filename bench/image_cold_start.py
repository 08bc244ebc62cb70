"""Cold start of a container-image function against a zip function of the same content.

Both run the same statically linked custom runtime (tests/images/runtime.c) with the same data
files: the image as /usr/local/bin/runtime in a two-layer image (tests/e2e/images.py), pushed to
a docker-registry on loopback; the zip as `bootstrap` (runtime provided.al2023) beside the same
data. For each kind, N functions of distinct content (image variant i / a data file naming i, so
no cached tree helps) are created and each is invoked once, cold, then once warm. Timed by the
client: CreateFunction (for images: resolve, pull, flatten, chunk, seal, store), the cold invoke
end to end, and Init Duration from its REPORT line.

Usage: image_cold_start.py OUT_JSON (env: HEARTH_ENDPOINT, AWS_* keys, HEARTH_BIN_DIR,
BENCH_WORK, BENCH_COLD_N)
"""
import io
import json
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path

import boto3
import botocore.config

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
import cold_start  # noqa: E402  (bench/, beside this file: the cold invoke and its parsing)
import images  # noqa: E402  (tests/e2e: the test image and a registry on loopback)

ROLE = "arn:aws:iam::123456789012:role/bench"


def summary(values):
    s = sorted(values)
    return {"p50": statistics.median(s), "p90": s[min(int(0.9 * len(s)), len(s) - 1)],
            "min": s[0], "max": s[-1]}


def zip_of(runtime: bytes, variant: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, runtime)
        z.writestr("etc/passwd", images.PASSWD)
        z.writestr("data/extra.txt", images.extra_text(variant))
    return buf.getvalue()


def cold_then_warm(client, name):
    """The cold invoke (cold_start.py's) and one warm one: (cold ms, Init ms, warm ms)."""
    cold_ms, init_ms, _ = cold_start.cold_invoke(client, name)
    t0 = time.perf_counter()
    client.invoke(FunctionName=name, Payload=b'{}')["Payload"].read()
    return cold_ms, init_ms, (time.perf_counter() - t0) * 1000


def main():
    out_path = sys.argv[1]
    n = int(os.environ.get("BENCH_COLD_N", "15"))
    work = Path(os.environ["BENCH_WORK"]) / "image-cold"
    work.mkdir(parents=True, exist_ok=True)
    runtime_path = Path(os.environ["HEARTH_BIN_DIR"]) / images.RUNTIME_NAME
    runtime = runtime_path.read_bytes()
    client = boto3.client(
        "lambda", endpoint_url=os.environ["HEARTH_ENDPOINT"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=120))
    client.list_functions(MaxItems=1)
    registry = images.start_registry(work)
    results = {}
    try:
        uris = []
        for i in range(n):
            image = images.build_runtime_image(str(work / f"layout-{i}"), str(runtime_path),
                                               tag=f"v{i}", variant=str(i))
            registry.push(image.layout_dir, "bench", image.tag)
            uris.append(registry.image_uri("bench", image.tag))
        for kind in ("zip", "image"):
            create, e2e, init, warm = [], [], [], []
            for i in range(n):
                name = f"cold-{kind}-{i}-{os.getpid()}"
                params = dict(FunctionName=name, Role=ROLE, MemorySize=128, Timeout=30)
                if kind == "image":
                    params.update(PackageType="Image", Code={"ImageUri": uris[i]})
                else:
                    params.update(Runtime="provided.al2023", Handler="bootstrap",
                                  Code={"ZipFile": zip_of(runtime, str(i))})
                t0 = time.perf_counter()
                client.create_function(**params)
                create.append((time.perf_counter() - t0) * 1000)
                cold, init_ms, warm_ms = cold_then_warm(client, name)
                e2e.append(cold)
                init.append(init_ms)
                warm.append(warm_ms)
                client.delete_function(FunctionName=name)
            results[kind] = {"n": n, "create_ms": summary(create), "cold_end_to_end_ms": summary(e2e),
                             "init_duration_ms": summary(init), "warm_ms": summary(warm)}
            s = results[kind]
            print(json.dumps({"kind": kind, "create_p50_ms": round(s["create_ms"]["p50"], 2),
                              "cold_p50_ms": round(s["cold_end_to_end_ms"]["p50"], 2),
                              "init_p50_ms": round(s["init_duration_ms"]["p50"], 2),
                              "warm_p50_ms": round(s["warm_ms"]["p50"], 2)}))
    finally:
        registry.stop()
    with open(out_path, "w") as f:
        json.dump(results, f)
        f.write("\n")


if __name__ == "__main__":
    main()
