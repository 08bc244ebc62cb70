# Shared helpers for the benchmark scripts in bench/ (sourced, not run).
#
# Every benchmark script talks to a running hearthd described by these variables (bench/run-all
# sets them after starting its own hearthd; set them yourself to point a single script at another
# one):
#   HEARTH_ENDPOINT          http://127.0.0.1:PORT
#   HEARTH_PID               hearthd's PID (only bench/idle-memory needs it)
#   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION   a key pair hearthd accepts
#   BENCH_WORK               a scratch directory (zips are built there)
#   BENCH_RESULTS            a directory each script writes its *.json results into
# Knobs (environment, all optional): BENCH_REPS (repetitions per measurement, default 3),
# BENCH_SECONDS (seconds per measured loadgen run, default 2).

set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BIN_DIR="${HEARTH_BIN_DIR:-$REPO_ROOT/build/bin}"
LOADGEN="$BIN_DIR/hearth-loadgen"
PY=/usr/bin/python3
AWS_CLI=/usr/bin/aws
ROLE="arn:aws:iam::123456789012:role/bench"

BENCH_REPS="${BENCH_REPS:-3}"
BENCH_SECONDS="${BENCH_SECONDS:-2}"

export AWS_MAX_ATTEMPTS=1 AWS_PAGER="" AWS_REGION="${AWS_REGION:-us-east-1}"
# Keep the CLI away from any profile or config of the user running the benchmark.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

require_env() {
  local v
  for v in "$@"; do
    if [[ -z "${!v:-}" ]]; then
      echo "$0: $v is not set (run bench/run-all, or see bench/lib.sh)" >&2
      exit 2
    fi
  done
}

# aws lambda ... against hearthd.
lambda() { "$AWS_CLI" --endpoint-url "$HEARTH_ENDPOINT" --output json lambda "$@"; }

# make_zip NAME: builds $BENCH_WORK/NAME.zip with one of the benchmark handlers and prints its path.
#   py-echo    index.handler  returns the event; sleeps event["sleep"] seconds if given
#   node-echo  index.handler  the same, in Node (async handler)
make_zip() {
  local name="$1" dir="$BENCH_WORK/src-$1"
  mkdir -p "$dir"
  case "$name" in
    py-echo)
      cat >"$dir/index.py" <<'EOF'
import time


def handler(event, context):
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    return event
EOF
      ;;
    node-echo)
      cat >"$dir/index.js" <<'EOF'
exports.handler = async (event) => {
  if (event && event.sleep) await new Promise((r) => setTimeout(r, event.sleep * 1000));
  return event;
};
EOF
      ;;
    *) echo "make_zip: unknown handler $name" >&2; return 2 ;;
  esac
  "$PY" - "$dir" "$BENCH_WORK/$name.zip" <<'EOF'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(os.listdir(src)):
        z.write(os.path.join(src, f), f)
EOF
  echo "$BENCH_WORK/$name.zip"
}

# create_function NAME RUNTIME ZIP MEMORY_MB
create_function() {
  local name="$1" runtime="$2" zip="$3" mem="$4"
  lambda create-function --function-name "$name" --runtime "$runtime" --handler index.handler \
    --role "$ROLE" --zip-file "fileb://$zip" --memory-size "$mem" --timeout 30 \
    --query State >/dev/null
}

# loadgen ARGS...: hearth-loadgen against hearthd; prints its JSON line. Bounded in time (the
# loadgen has no per-request timeout, and a wedged server must not wedge the benchmark).
loadgen() { timeout -k 5 "${BENCH_LOADGEN_TIMEOUT:-120}" "$LOADGEN" --endpoint "$HEARTH_ENDPOINT" "$@"; }

# median_json OUT_FILE LABEL FILE...: folds several loadgen JSON results into one object with the
# median of each field plus the individual runs, written to OUT_FILE.
median_json() {
  local out="$1" label="$2"
  shift 2
  "$PY" - "$out" "$label" "$@" <<'EOF'
import json, statistics, sys
out, label, files = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = [json.loads(open(f).read().strip().splitlines()[-1]) for f in files]
keys = ["throughput_rps", "p50_us", "p90_us", "p99_us", "max_us"]
res = {"label": label, "reps": len(runs)}
for k in keys:
    res[k] = statistics.median(r[k] for r in runs)
res["errors"] = sum(r["errors"] for r in runs)
res["requests"] = sum(r["requests"] for r in runs)
res["runs"] = runs
with open(out, "w") as f:
    json.dump(res, f)
    f.write("\n")
print(json.dumps({k: res[k] for k in ["label", "p50_us", "p99_us", "throughput_rps", "errors"]}))
EOF
}

# measure OUT_NAME LABEL LOADGEN_ARGS...: BENCH_REPS timed loadgen runs of BENCH_SECONDS each;
# writes the median result to $BENCH_RESULTS/OUT_NAME.json. A run with errors is kept (and its
# errors counted) rather than retried, so failures show in the results.
measure() {
  local name="$1" label="$2"
  shift 2
  local files=() i
  for ((i = 1; i <= BENCH_REPS; i++)); do
    local f="$BENCH_WORK/$name.run$i.json"
    loadgen "$@" -d "$BENCH_SECONDS" >"$f" 2>"$BENCH_WORK/$name.run$i.err" || true
    if [[ ! -s "$f" ]]; then
      log "$label: loadgen produced no result: $(tail -3 "$BENCH_WORK/$name.run$i.err")"
      return 1
    fi
    files+=("$f")
  done
  median_json "$BENCH_RESULTS/$name.json" "$label" "${files[@]}"
}

# wait_listening LOGFILE PID: waits (up to 30 s) for "listening on [http://]HOST:PORT" in LOGFILE,
# written by process PID; prints PORT. Fails if PID exits first.
wait_listening() {
  local logf="$1" pid="$2" i port
  for ((i = 0; i < 300; i++)); do
    port="$(sed -nE 's/.*listening on (http:\/\/)?[0-9.]+:([0-9]+).*/\2/p' "$logf" | head -1)"
    if [[ -n "$port" ]]; then
      echo "$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "process $pid exited before listening:" >&2
      tail -20 "$logf" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "timed out waiting for $logf to say it is listening" >&2
  return 1
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 30), then SIGKILL.
stop_pid() {
  local pid="$1" limit="${2:-30}" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "process $pid did not stop within ${limit}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# cpu_busy_pct SECONDS: percent of all CPUs busy (not idle or iowait) over the next SECONDS.
cpu_busy_pct() {
  "$PY" - "$1" <<'EOF_PY'
import sys, time
def sample():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f), f[3] + f[4]
t0, i0 = sample(); time.sleep(float(sys.argv[1])); t1, i1 = sample()
print(round(100 * (1 - (i1 - i0) / max(1, t1 - t0))))
EOF_PY
}

# wait_for_quiet MAX_SECONDS: waits until the machine is idle (under 15% busy over 3 s, i.e.
# nobody else is compiling or testing) or MAX_SECONDS have passed; prints the last busy percent.
wait_for_quiet() {
  local max="$1" waited=0 busy
  while :; do
    busy="$(cpu_busy_pct 3)"
    waited=$((waited + 3))
    if ((busy < 15)); then break; fi
    if ((waited >= max)); then
      log "machine still ${busy}% busy after ${max}s; measuring anyway (results will be low)"
      break
    fi
    log "machine ${busy}% busy; waiting for it to go quiet"
    sleep 12
    waited=$((waited + 12))
  done
  echo "$busy"
}
