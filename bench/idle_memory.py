"""Idle memory per warm sandbox.

For each runtime: creates a function (128 MB), warms K sandboxes at once (K concurrent invokes
that each sleep 1 s, so none can reuse another's sandbox), waits until they are idle, then for
every new sandbox — a new child of hearthd (hearth-init, PID 1 of the sandbox) and its
descendants (the runtime) — reads:
  - VmRSS of hearth-init alone and of every process (/proc/PID/status), summed per sandbox;
  - Pss summed per sandbox (/proc/PID/smaps_rollup; shared pages split between sharers);
  - the sandbox's memory cgroup usage (v1 memory.usage_in_bytes and memory.stat rss/cache,
    v2 memory.current and memory.stat anon/file), found from /proc/<hearth-init>/cgroup.

Usage: idle_memory.py OUT_JSON NAME:RUNTIME:ZIP... (env: HEARTH_ENDPOINT, HEARTH_PID, LOADGEN,
AWS_* keys, BENCH_MEM_K)
"""
import json
import os
import statistics
import subprocess
import sys
import time

import boto3
import botocore.config

ROLE = "arn:aws:iam::123456789012:role/bench"


def proc_table():
    """pid -> (ppid, comm) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1: stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        table[int(entry)] = (ppid, comm)
    return table


def descendants(table, root):
    out, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        kids = [pid for pid, (ppid, _) in table.items() if ppid == p]
        out.extend(kids)
        frontier.extend(kids)
    return out


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rollup_kb(pid, field):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def memory_cgroup(pid):
    """(directory, is_v2) of pid's memory cgroup as seen from here."""
    v2 = None
    for line in open(f"/proc/{pid}/cgroup"):
        hid, ctrls, path = line.rstrip("\n").split(":", 2)
        if "memory" in ctrls.split(","):
            return "/sys/fs/cgroup/memory" + path, False
        if hid == "0":
            v2 = path
    if v2 is not None and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "/sys/fs/cgroup" + v2, True
    if v2 is not None:
        return "/sys/fs/cgroup/unified" + v2, True
    return None, False


def cgroup_usage(pid):
    d, v2 = memory_cgroup(pid)
    if not d or not os.path.isdir(d):
        return {}
    stat = {}
    for line in open(os.path.join(d, "memory.stat")):
        k, v = line.split()
        stat[k] = int(v)
    if v2:
        usage = int(open(os.path.join(d, "memory.current")).read())
        return {"cgroup": d, "usage_kb": usage // 1024, "anon_kb": stat.get("anon", 0) // 1024,
                "file_kb": stat.get("file", 0) // 1024}
    usage = int(open(os.path.join(d, "memory.usage_in_bytes")).read())
    return {"cgroup": d, "usage_kb": usage // 1024, "anon_kb": stat.get("rss", 0) // 1024,
            "file_kb": stat.get("cache", 0) // 1024}


def med(values):
    return statistics.median(values) if values else None


def main():
    out_path, specs = sys.argv[1], sys.argv[2:]
    k = int(os.environ.get("BENCH_MEM_K", "10"))
    hearthd = int(os.environ["HEARTH_PID"])
    endpoint = os.environ["HEARTH_ENDPOINT"]
    client = boto3.client("lambda", endpoint_url=endpoint,
                          region_name=os.environ.get("AWS_REGION", "us-east-1"),
                          config=botocore.config.Config(retries={"max_attempts": 1}))
    results = {}
    for spec in specs:
        name, runtime, zip_path = spec.split(":", 2)
        client.create_function(FunctionName=name, Runtime=runtime, Handler="index.handler",
                               Role=ROLE, Code={"ZipFile": open(zip_path, "rb").read()},
                               MemorySize=128, Timeout=30)
        before = {p for p, (pp, _) in proc_table().items() if pp == hearthd}
        lg = subprocess.run([os.environ["LOADGEN"], "--endpoint", endpoint, "--function", name,
                             "--payload", '{"sleep":1}', "-c", str(k), "-n", str(k)],
                            capture_output=True, text=True)
        if lg.returncode != 0:
            raise SystemExit(f"warming {name} failed: {lg.stdout} {lg.stderr}")
        time.sleep(2)  # let them go idle
        table = proc_table()
        inits = sorted(p for p, (pp, _) in table.items() if pp == hearthd and p not in before)
        sandboxes = []
        for init in inits:
            procs = [init] + descendants(table, init)
            rss = {p: status_kb(p, "VmRSS") for p in procs}
            sandboxes.append({
                "init_pid": init,
                "processes": {str(p): {"cmd": cmdline(p), "rss_kb": rss[p],
                                       "pss_kb": rollup_kb(p, "Pss")} for p in procs},
                "init_rss_kb": rss[init],
                "init_pss_kb": rollup_kb(init, "Pss"),
                "init_anon_kb": status_kb(init, "RssAnon"),
                "runtime_rss_kb": sum(v for p, v in rss.items() if p != init),
                "total_rss_kb": sum(rss.values()),
                "total_pss_kb": sum(rollup_kb(p, "Pss") for p in procs),
                **{"cgroup_" + key: v for key, v in cgroup_usage(init).items()},
            })
        if len(sandboxes) != k:
            print(f"warning: {name}: expected {k} new sandboxes, found {len(sandboxes)}",
                  file=sys.stderr)
        fields = ["init_rss_kb", "init_pss_kb", "init_anon_kb", "runtime_rss_kb", "total_rss_kb",
                  "total_pss_kb", "cgroup_usage_kb", "cgroup_anon_kb", "cgroup_file_kb"]
        med_fields = {f: med([s[f] for s in sandboxes if s.get(f) is not None]) for f in fields}
        results[runtime] = {"k": k, "sandboxes_found": len(sandboxes), "median": med_fields,
                            "max_init_rss_kb": max((s["init_rss_kb"] for s in sandboxes),
                                                   default=None),
                            "sandboxes": sandboxes}
        print(json.dumps({"runtime": runtime, "sandboxes": len(sandboxes), **med_fields}))
    with open(out_path, "w") as f:
        json.dump(results, f)
        f.write("\n")


if __name__ == "__main__":
    main()
