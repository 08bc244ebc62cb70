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

image_cold = load("image_cold")
if image_cold:
    for kind, s in image_cold.items():
        row(kind, s["n"], f"{s['create_ms']['p50']:.1f}", f"{s['cold_end_to_end_ms']['p50']:.1f}",
            f"{s['init_duration_ms']['p50']:.1f}", f"{s['warm_ms']['p50']:.1f}")
flush("Cold start, image function against a zip function of the same content (p50)",
      ["kind", "n", "create ms", "cold e2e ms", "Init ms", "warm ms"])

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

cs = load("codestore")
ing = cs.get("ingest") if cs else None
if ing:
    med = ing["median"]
    mb = ing["unzipped_bytes"] / 1e6
    row("AES-256-CTR alone", f"{med['aes_mb_s']:.0f}", f"{med['aes_s']:.3f}", "")
    row("SHA-256 alone", f"{med['sha_mb_s']:.0f}", f"{med['sha_s']:.3f}", "")
    row("hardware limit: AES-256-CTR + SHA-256, one thread", f"{med['hardware_mb_s']:.0f}",
        f"{mb / med['hardware_mb_s']:.3f}", "1")
    row("ChunkedCodeStore::put, empty store", f"{med['put_mb_s']:.0f}", f"{med['put_s']:.3f}",
        f"{med['ratio']:.3f}")
    flush(f"Code store ingest: {ing['unzipped_bytes'] / 2**20:.0f} MiB unzipped, "
          f"{ing['zipped_bytes'] / 1e6:.1f} MB zipped, {ing['files']} files "
          f"(target put >= 50% of the hardware limit; "
          f"{'met' if ing['target_met'] else 'not met'})",
          ["what", "MB/s", "seconds", "of the limit"])
    for name, key in [("inflate + CRC-32 (libarchive)", "inflate_s"),
                      ("SHA-256 of the upload", "sha_upload_s"),
                      ("SHA-256 of every file", "sha_s"), ("FastCDC", "fastcdc_s"),
                      ("seal every chunk (HMAC key, AES-CTR, HMAC tag)", "seal_s"),
                      ("write the blobs (LocalBlobStore::put)", "blob_write_s"),
                      ("syncfs", "syncfs_s"), ("rest of put (put minus the above)", "other_s")]:
        row(name, f"{med[key]:.3f}", f"{100 * med[key] / med['put_s']:.0f}%")
    flush("Code store ingest: put's stages, each timed alone (medians)",
          ["stage", "seconds", "of put"])
dd = cs.get("dedup") if cs else None
if dd:
    row(dd["versions"], f"{dd['logical_bytes'] / 1e6:.1f}", f"{dd['stored_bytes_1'] / 1e6:.2f}",
        f"{dd['stored_bytes_20'] / 1e6:.2f}", f"{dd['changed_bytes'] / 1e6:.2f}",
        f"{dd['bound_bytes'] / 1e6:.2f}", "pass" if dd["pass"] else "FAIL",
        f"{dd['put_s_handler_edit_median'] * 1e3:.0f} / {dd['put_s_library_replace_median'] * 1e3:.0f}")
    flush("Code store dedup: versions of a 50 MiB function, one file changed each "
          "(check: stored_20 <= 1.1 * stored_1 + changed)",
          ["versions", "logical MB", "stored v1 MB", "stored v1-20 MB", "changed MB", "bound MB",
           "check", "put ms (handler edit / library replaced)"])
mat = cs.get("materialise") if cs else None
if mat:
    med = mat["median"]
    row("cold: fresh cache", f"{med['cold_s'] * 1e3:.1f} ms", f"{med['cold_files_per_s']:.0f}",
        f"{med['cold_files_written']:.0f} written")
    row("warm: new version, one file changed", f"{med['warm_s'] * 1e3:.1f} ms",
        f"{med['warm_files_per_s']:.0f}",
        f"{med['warm_files_written']:.0f} written, {med['warm_files_linked']:.0f} linked")
    row("already built (lease again)", f"{med['built_us']:.2f} µs", "-", "-")
    flush(f"Code store materialisation: CodeCache::acquire of {mat['files']} files, "
          f"{mat['unzipped_bytes'] / 2**20:.0f} MiB, {mat['chunks']} chunks (medians)",
          ["case", "time", "files/s", "files"])
    for name, key in [("unseal and decode the manifest", "manifest_s"),
                      ("read every sealed chunk from the store", "read_chunks_s"),
                      ("open every chunk (HMAC check, AES-CTR)", "open_chunks_s"),
                      ("SHA-256 of every file", "sha_files_s"),
                      ("plain mkdir + write of the tree on tmpfs", "plain_write_s")]:
        row(name, f"{med[key] * 1e3:.1f}", f"{100 * med[key] / med['cold_s']:.0f}%")
    rest = med["cold_s"] - sum(med[k] for k in ["manifest_s", "read_chunks_s", "open_chunks_s",
                                                  "sha_files_s", "plain_write_s"])
    row("rest of the cold build (cold minus the above)", f"{rest * 1e3:.1f}",
        f"{100 * rest / med['cold_s']:.0f}%")
    flush("Code store materialisation: a cold build's stages, each timed alone (medians)",
          ["stage", "ms", "of cold"])
