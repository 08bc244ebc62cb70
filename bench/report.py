"""Prints the results table of a bench/run-all results directory (see bench/run-all).

Usage: report.py RESULTS_DIR [--markdown]
"""
import json
import os
import sys

d = sys.argv[1]
md = "--markdown" in sys.argv


def load(name):
    p = os.path.join(d, name + ".json")
    return json.load(open(p)) if os.path.exists(p) else None


def ms(us):
    return f"{us / 1000:.3f}" if us is not None else "-"


rows = []


def row(*cells):
    rows.append([str(c) for c in cells])


def flush(title, header):
    if not rows:
        return
    if md:
        print(f"\n### {title}\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        print(f"\n== {title}")
        table = [header] + rows
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        for r in table:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    rows.clear()


m = load("machine")
if m:
    print(f"{'**Machine**: ' if md else 'machine: '}{m['nproc']} CPUs, {m['cpu_model']}, "
          f"{m['mem_mb']} MB, kernel {m['kernel']}, {m['date']}, load average before "
          f"{' '.join(m['loadavg_before'])} (CPUs {m.get('cpu_busy_pct_before', '?')}% busy just "
          f"before), after {' '.join(m.get('loadavg_after', ['?']))}")

lg = ["p50 ms", "p90 ms", "p99 ms", "req/s", "errors"]
for mode in ["bare", "sigv4"]:
    for c in [1, 16]:
        r = load(f"http-{mode}-c{c}")
        if r:
            row(f"{mode}", c, ms(r["p50_us"]), ms(r["p90_us"]), ms(r["p99_us"]),
                f"{r['throughput_rps']:.0f}", r["errors"])
flush("HTTP baseline (hearth-bench-server, no platform)", ["server", "conc."] + lg)

for mem in [1769, 128]:
    for rt, name in [("py", "python3.11"), ("node", "nodejs20.x")]:
        r = load(f"warm-{rt}-{mem}")
        if r:
            row(name, mem, ms(r["p50_us"]), ms(r["p90_us"]), ms(r["p99_us"]),
                f"{r['throughput_rps']:.0f}", r["errors"])
flush("Warm invoke, concurrency 1 (target p50 <= 0.3 ms, p99 <= 1 ms)",
      ["runtime", "MB"] + lg)

for mem in [1769, 128]:
    for c in [2, 4, 8, 16, 32]:
        r = load(f"tput-py-{mem}-c{c}")
        if r and r["requests"] == 0:
            row("python3.11", mem, c, "failed", "", "", "", "", r["errors"])
        elif r:
            row("python3.11", mem, c, ms(r["p50_us"]), ms(r["p90_us"]), ms(r["p99_us"]),
                f"{r['throughput_rps']:.0f}", r["errors"])
flush("Warm invoke throughput (target >= 8,000/s)", ["runtime", "MB", "conc."] + lg)

cold = load("cold")
if cold:
    for rt, s in cold.items():
        row(rt, s["n"], f"{s['end_to_end_ms']['p50']:.1f}", f"{s['end_to_end_ms']['p90']:.1f}",
            f"{s['init_duration_ms']['p50']:.1f}", f"{s['init_duration_ms']['p90']:.1f}",
            f"{s['warm_boto3_ms']['p50']:.1f}")
flush("Cold start, first invoke of a new 128 MB function (target Python p50 <= 40 ms)",
      ["runtime", "n", "e2e p50 ms", "e2e p90 ms", "Init p50 ms", "Init p90 ms",
       "warm boto3 p50 ms"])

mem = load("memory")
if mem:
    for rt, s in mem.items():
        med = s["median"]
        row(rt, s["sandboxes_found"], med["init_rss_kb"], s["max_init_rss_kb"], med["init_pss_kb"],
            med["runtime_rss_kb"], med["total_rss_kb"], med["total_pss_kb"],
            med["cgroup_usage_kb"])
flush("Idle warm sandbox memory, KiB, medians (target hearth-init RSS <= 2048 KiB)",
      ["runtime", "sandboxes", "init RSS", "init RSS max", "init PSS", "runtime RSS",
       "total RSS", "total PSS", "cgroup usage"])

for c in [1, 2, 4, 8, 16, 32, 64]:
    r = load(f"async-accept-c{c}")
    if r:
        row(c, ms(r["p50_us"]), ms(r["p90_us"]), ms(r["p99_us"]), f"{r['throughput_rps']:.0f}",
            r["errors"])
r = load("async-sqlite-insert")
if r:
    row("bare SQLite loop, 1 row per commit", ms(r["commit_p50_us"]), "-", ms(r["commit_p99_us"]),
        f"{r['rows_per_second']:.0f}", 0)
flush("Durable async accepts, Invoke Event -> 202 (target >= 5,000/s)",
      ["conc."] + lg)

r = load("async-accept-to-start")
if r:
    row("accept-to-start, idle function", r["n"], ms(r["p50_us"]), ms(r["p99_us"]), ms(r["max_us"]))
    flush("Async latency", ["what", "events", "p50 ms", "p99 ms", "max ms"])
r = load("async-drain")
if r:
    row("drain", r["events"], f"{r['seconds']:.2f}", f"{r['events_per_second']:.0f}")
    flush("Async drain", ["what", "events", "seconds", "events/s"])
r = load("async-recovery")
if r:
    row("kill -9, restart", r["queued_events"], f"{r['to_listening_s']:.3f}",
        f"{r['to_first_event_s']:.3f}")
    flush("Recovery after kill -9", ["what", "queued events", "to listening s", "to first event s"])
