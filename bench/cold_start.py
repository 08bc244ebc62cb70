"""Cold start: the first invoke of a brand-new function, timed end to end by the client.

For each runtime, creates N functions whose zips differ (a comment with the index, so no code
cache shared between them can help), and for each one right after CreateFunction times one
synchronous Invoke with LogType=Tail using boto3 over a kept-alive connection, and takes
`Init Duration` from the REPORT line of the returned log tail. A second (warm) invoke of the same
function is timed too, so the client's own cost (boto3 signing and parsing, HTTP) is visible.

Usage: cold_start.py OUT_JSON RUNTIME:ZIPDIR... (env: HEARTH_ENDPOINT, AWS_* keys, BENCH_COLD_N)
"""
import base64
import io
import json
import os
import re
import statistics
import sys
import time
import zipfile

import boto3
import botocore.config

ROLE = "arn:aws:iam::123456789012:role/bench"
INIT_RE = re.compile(r"Init Duration: ([0-9.]+) ms")
DUR_RE = re.compile(r"\tDuration: ([0-9.]+) ms")


def pct(values, p):
    s = sorted(values)
    return s[min(int(p / 100 * len(s)), len(s) - 1)]


def summary(values):
    return {
        "p50": pct(values, 50),
        "p90": pct(values, 90),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def zip_with_index(src_dir, index):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(os.listdir(src_dir)):
            data = open(os.path.join(src_dir, name), "rb").read()
            marker = b"#" if name.endswith(".py") else b"//"
            z.writestr(name, data + marker + b" cold-start function %d\n" % index)
    return buf.getvalue()


def cold_invoke(client, name):
    """One invoke of a function that has no environment yet: (end-to-end ms as boto3 sees it,
    Init Duration ms from the REPORT line, the log tail). Exits on a function error."""
    t0 = time.perf_counter()
    r = client.invoke(FunctionName=name, Payload=b'{"cold":true}', LogType="Tail")
    body = r["Payload"].read()
    t1 = time.perf_counter()
    if r.get("FunctionError"):
        raise SystemExit(f"{name}: function error: {body!r}")
    tail = base64.b64decode(r.get("LogResult", "")).decode(errors="replace")
    m = INIT_RE.search(tail)
    if not m:
        raise SystemExit(f"{name}: no Init Duration in the cold invoke's log tail:\n{tail}")
    return (t1 - t0) * 1000, float(m.group(1)), tail


def main():
    out_path, specs = sys.argv[1], sys.argv[2:]
    n = int(os.environ.get("BENCH_COLD_N", "15"))
    client = boto3.client(
        "lambda",
        endpoint_url=os.environ["HEARTH_ENDPOINT"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=60),
    )
    client.list_functions(MaxItems=1)  # load the service model and open the connection
    results = {}
    for spec in specs:
        runtime, src_dir = spec.split(":", 1)
        tag = runtime.replace(".", "")
        e2e, init, dur, warm = [], [], [], []
        for i in range(n):
            name = f"cold-{tag}-{i}-{os.getpid()}"
            client.create_function(
                FunctionName=name, Runtime=runtime, Handler="index.handler", Role=ROLE,
                Code={"ZipFile": zip_with_index(src_dir, i)}, MemorySize=128, Timeout=30)
            cold_ms, init_ms, tail = cold_invoke(client, name)
            e2e.append(cold_ms)
            init.append(init_ms)
            d = DUR_RE.search(tail)
            if d:
                dur.append(float(d.group(1)))
            t0 = time.perf_counter()
            r = client.invoke(FunctionName=name, Payload=b'{"cold":false}', LogType="Tail")
            r["Payload"].read()
            t1 = time.perf_counter()
            warm.append((t1 - t0) * 1000)
            if INIT_RE.search(base64.b64decode(r.get("LogResult", "")).decode(errors="replace")):
                print(f"warning: {name}: second invoke was cold too", file=sys.stderr)
        results[runtime] = {
            "n": n,
            "end_to_end_ms": summary(e2e),
            "init_duration_ms": summary(init),
            "first_invoke_duration_ms": summary(dur) if dur else None,
            "warm_boto3_ms": summary(warm),
            "raw": {"end_to_end_ms": e2e, "init_duration_ms": init, "warm_boto3_ms": warm},
        }
        s = results[runtime]
        print(json.dumps({"runtime": runtime,
                          "e2e_p50_ms": round(s["end_to_end_ms"]["p50"], 2),
                          "e2e_p90_ms": round(s["end_to_end_ms"]["p90"], 2),
                          "init_p50_ms": round(s["init_duration_ms"]["p50"], 2),
                          "init_p90_ms": round(s["init_duration_ms"]["p90"], 2),
                          "warm_boto3_p50_ms": round(s["warm_boto3_ms"]["p50"], 2)}))
    with open(out_path, "w") as f:
        json.dump(results, f)
        f.write("\n")


if __name__ == "__main__":
    main()
