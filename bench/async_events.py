"""Asynchronous-invocation benchmarks against a hearthd of their own (it is killed with -9 once).

Usage: async_events.py RESULTS_DIR WORK_DIR     (bench/async runs it; needs root, like hearthd)

Measures, writing RESULTS_DIR/async-*.json:
  - durable accepts per second (Invoke with InvocationType Event, each answered 202 only after
    its group commit is fsynced) at concurrency 1, 2, 4, 8, 16, 32, 64, with hearth-loadgen, to
    a function with reserved concurrency 0 so nothing runs while accepting; BENCH_REPS runs of
    BENCH_SECONDS each, medians;
  - the same disk's bare SQLite insert loop with the same durability (WAL, synchronous=FULL, one
    row per commit), hearth-sqlite-insert, in the same run;
  - accept-to-start latency, function idle (a warm environment, nothing queued): wall time from
    the client sending the request to the handler's first line, p50/p99 over BENCH_ASYNC_N
    events (the handler often starts before the 202 is back: the poller is woken by the commit);
  - drain rate: BENCH_DRAIN_N events sent as fast as hearth-loadgen can (16 connections) to an
    idle function; events per second from the first send until the last one has run;
  - recovery after kill -9 with everything above still queued: time from starting hearthd
    again to it listening (its queue loaded), and to the first queued event running.
"""
import json
import os
import re
import secrets
import signal
import socket
import statistics
import string
import subprocess
import sys
import time
from pathlib import Path

import boto3
import botocore.config

RESULTS, WORK = Path(sys.argv[1]), Path(sys.argv[2])
BIN = Path(os.environ.get("HEARTH_BIN_DIR", Path(__file__).resolve().parents[1] / "build/bin"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))
LATENCY_N = int(os.environ.get("BENCH_ASYNC_N", "50"))
DRAIN_N = int(os.environ.get("BENCH_DRAIN_N", "5000"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_ASYNC_CONCURRENCY", "1 2 4 8 16 32 64").split()]
ROLE = "arn:aws:iam::123456789012:role/bench"

HANDLER = r'''
import time
def handler(event, context):
    print("RAN %d %d" % (time.time_ns(), event.get("seq", -1)))
    return event
'''
_RAN = re.compile(r"^RAN (\d+) (-?\d+)$", re.M)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rand(alphabet, n):
    return "".join(secrets.choice(alphabet) for _ in range(n))


KEY = "AKIA" + rand(string.ascii_uppercase + "234567", 16)
SECRET = rand(string.ascii_letters + string.digits, 40)
DATA = WORK / "async-data"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PORT = free_port()
ENDPOINT = f"http://127.0.0.1:{PORT}"


class Daemon:
    def __init__(self):
        self.proc = None
        self.log_path = WORK / "async-hearthd.log"

    def start(self):
        """Starts hearthd; returns seconds until it logs that it listens (queue loaded)."""
        env = dict(os.environ, HEARTH_ROOT_ACCESS_KEY_ID=KEY, HEARTH_ROOT_SECRET_ACCESS_KEY=SECRET)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log_file = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [str(BIN / "hearthd"), "serve", "--listen", f"127.0.0.1:{PORT}", "--data-dir",
             str(DATA), "--memory-budget", "1000000", "--event-concurrency", "32"],
            stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL, env=env)
        while time.monotonic() - t0 < 120:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            if "listening on" in text:
                return time.monotonic() - t0, text
            if self.proc.poll() is not None:
                raise SystemExit(f"hearthd exited: {text[-2000:]}")
            time.sleep(0.005)
        raise SystemExit("hearthd did not start")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def client():
    return boto3.session.Session(aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                                 region_name="us-east-1").client(
        "lambda", endpoint_url=ENDPOINT,
        config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=120))


def make_function(lam, name, memory=1769):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", HANDLER)
    lam.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": buf.getvalue()}, MemorySize=memory, Timeout=30)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return lam.get_function_configuration(FunctionName=name)["FunctionArn"].split(":")[4]


def ran(account, name):
    root = DATA / "logs" / account / name
    text = "".join(p.read_text(errors="replace") for p in root.rglob("*.log")) if root.exists() else ""
    return [(int(t), int(s)) for t, s in _RAN.findall(text)]


def loadgen(args):
    out = subprocess.run([str(BIN / "hearth-loadgen"), "--endpoint", ENDPOINT, "--access-key", KEY,
                          "--secret-key", SECRET, *args], capture_output=True, text=True,
                         timeout=SECONDS + 60)
    if not out.stdout.strip():
        raise SystemExit(f"loadgen failed: {out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def save(name, value):
    with open(RESULTS / f"{name}.json", "w") as f:
        json.dump(value, f)
        f.write("\n")
    log(f"{name}: {json.dumps({k: v for k, v in value.items() if k != 'runs'})}")


def main():
    DATA.mkdir(parents=True, exist_ok=True)
    daemon = Daemon()
    daemon.start()
    try:
        run(daemon)
    finally:
        daemon.stop()


def run(daemon):
    lam = client()

    # Durable accepts: a sink that is throttled (reserved concurrency 0), so nothing runs.
    sink = "async-sink"
    account = make_function(lam, sink)
    lam.put_function_concurrency(FunctionName=sink, ReservedConcurrentExecutions=0)
    for c in CONCURRENCY:
        runs = [loadgen(["--function", sink, "--invocation-type", "Event", "--payload",
                         '{"seq": -1}', "-c", str(c), "-d", str(SECONDS), "--warmup", str(10 * c)])
                for _ in range(REPS)]
        save(f"async-accept-c{c}",
             {"concurrency": c, "reps": REPS,
              **{k: statistics.median(r[k] for r in runs)
                 for k in ["throughput_rps", "p50_us", "p90_us", "p99_us", "max_us"]},
              "errors": sum(r["errors"] for r in runs), "runs": runs})

    # The bare SQLite loop, same disk (the data dir), same durability.
    runs = []
    for _ in range(REPS):
        out = subprocess.run([str(BIN / "hearth-sqlite-insert"), "--dir", str(DATA), "--rows",
                              "2000", "--payload-bytes", "12"],
                             capture_output=True, text=True, timeout=300, check=True)
        runs.append(json.loads(out.stdout))
    save("async-sqlite-insert", {"reps": REPS, **{k: statistics.median(r[k] for r in runs) for k in
                                                  ["rows_per_second", "commit_p50_us",
                                                   "commit_p99_us"]}, "runs": runs})

    # Accept-to-start, function idle: one warm environment, events sent one at a time.
    idle = "async-idle"
    account = make_function(lam, idle)
    lam.invoke(FunctionName=idle, Payload=b'{"seq": -2}')  # creates the warm environment
    latencies = []
    for seq in range(LATENCY_N):
        sent_ns = time.time_ns()
        lam.invoke(FunctionName=idle, InvocationType="Event", Payload=json.dumps({"seq": seq}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            started = [t for t, s in ran(account, idle) if s == seq]
            if started:
                latencies.append((started[0] - sent_ns) / 1000)
                break
            time.sleep(0.0005)
        else:
            raise SystemExit(f"event {seq} did not run within 30 s")
    latencies.sort()
    save("async-accept-to-start",
         {"n": len(latencies), "p50_us": statistics.median(latencies),
          "p99_us": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
          "max_us": latencies[-1]})

    # Drain: DRAIN_N events sent as fast as possible; from the first send to the last run.
    drain = "async-drain"
    account = make_function(lam, drain)
    lam.invoke(FunctionName=drain, Payload=b'{"seq": -2}')  # one warm environment to start from
    t0 = time.monotonic()
    loadgen(["--function", drain, "--invocation-type", "Event", "--payload", '{"seq": 1}',
             "-c", "16", "-n", str(DRAIN_N)])
    accepted_s = time.monotonic() - t0
    while len([1 for _, s in ran(account, drain) if s == 1]) < DRAIN_N:
        if time.monotonic() - t0 > 600:
            raise SystemExit("the drain did not finish in 10 minutes")
        time.sleep(0.02)
    seconds = time.monotonic() - t0
    save("async-drain", {"events": DRAIN_N, "accepted_s": accepted_s, "seconds": seconds,
                         "events_per_second": DRAIN_N / seconds})

    # Recovery: kill -9 with the sink's events still queued (throttled).
    before = len(ran(account, idle))
    daemon.kill9()
    seconds, text = daemon.start()
    queued = int(re.search(r"(\d+) queued events", text).group(1))
    t0 = time.monotonic()
    lam = client()
    lam.invoke(FunctionName=idle, InvocationType="Event", Payload=b'{"seq": 999999}')
    while not [1 for _, s in ran(account, idle) if s == 999999]:
        if time.monotonic() - t0 > 120:
            raise SystemExit("no event ran after the restart")
        time.sleep(0.005)
    save("async-recovery", {"queued_events": queued, "to_listening_s": seconds,
                            "to_first_event_s": seconds + time.monotonic() - t0,
                            "idle_runs_before": before})


if __name__ == "__main__":
    main()
