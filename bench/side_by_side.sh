#!/usr/bin/env bash
# nakama-py beside real Nakama 3.40, in one run: both servers up on the local PostgreSQL (fresh databases
# sbs_nakama and sbs_py), then for each scenario REPS runs of `nakama-py bench` against each, alternating
# (64 connections, 5 s warm-up + 20 s), and each server's memory at the end. Nakama is the one
# bench/nakama_reference/build.sh built (NAKAMA_BUILD); nakama-py runs with --socket.workers 2.
#
#   bench/side_by_side.sh [OUT_DIR]      # SCENARIOS="echo account" REPS=1 to narrow it
#
# One JSON report per run in OUT_DIR (default /tmp/side-by-side); a line per run on stdout.
#
# The kernel's autogroup setting is printed first: with it on, the kernel schedules each session as a group
# (every PostgreSQL process is a session of its own; both servers and wrk share this script's), and a
# PostgreSQL backend here waited up to 0.7 s for a CPU at times (docs/performance.md, "The `account` tail
# after a burst of sign-ups"). It applies to both servers alike; figures compare within one run.
set -u
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/side-by-side}
SCENARIOS=${SCENARIOS:-"auth account echo submit leaderboard leaderboard-rest mix"}
REPS=${REPS:-3}
mkdir -p "$OUT"
echo "kernel.sched_autogroup_enabled=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a)" \
  | tee "$OUT/machine.txt"
for db in sbs_nakama sbs_py; do psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
NAKAMA_REF_DB=sbs_nakama bench/nakama_reference/run.sh > "$OUT/nakama.log" 2>&1 &
NAKAMA=$!
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE sbs_py"
.venv/bin/python -m nakama_py serve --socket.port 7390 --socket.address 127.0.0.1 --socket.workers 2 \
  --database.address postgres@127.0.0.1:5432/sbs_py --data_dir "$OUT/py-data" --runtime.path runtime_modules \
  --runtime.env racing_submit_rate_per_minute=1000000 --runtime.env racing_cycle_seconds=86400 \
  --session.token_expiry_sec 7200 --console.port 7391 --metrics.prometheus_port 9190 --logger.level warn \
  > "$OUT/py.log" 2>&1 &
PY=$!
trap 'kill $NAKAMA $PY 2>/dev/null; wait' EXIT
for port in 7450 7390; do
  for _ in $(seq 1 120); do curl -sf "127.0.0.1:$port/healthcheck" >/dev/null && break; sleep 0.5; done
done
for scenario in $SCENARIOS; do
  extra=()
  case $scenario in leaderboard|leaderboard-rest|mix) extra=(--records 10000);; esac
  for run in $(seq 1 "$REPS"); do
    for side in nakama py; do
      if [ $side = nakama ]; then url=http://127.0.0.1:7450 pid=$NAKAMA; else url=http://127.0.0.1:7390 pid=$PY; fi
      report="$OUT/$scenario.$side.$run.json"
      .venv/bin/nakama-py bench "$scenario" --url $url --duration 20s --warmup 5s --connections 64 "${extra[@]}" \
        --user-prefix "sbs${scenario//-/}$run" --server-pid $pid --json --quiet > "$report" 2> "${report%.json}.err"
      .venv/bin/python -c "import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
s = d.get('server', {})
print(sys.argv[2], sys.argv[3], sys.argv[4], f\"{d['requests_per_s']:.0f} req/s\", f\"p99 {d['latency_ms']['p99']} ms\",
      f\"errors {d['errors']['total']}\", f\"cpu {s.get('cpu_us_per_request')} us/req\", f\"pss {s.get('pss_mib')} MiB\")" \
        "$report" "$scenario" $side "$run"
    done
  done
done
for pid in $NAKAMA $PY $(pgrep -P $PY); do
  echo "end: pid $pid rss $(awk '/^Rss:/{print $2}' /proc/$pid/smaps_rollup) kB pss $(awk '/^Pss:/{print $2}' /proc/$pid/smaps_rollup) kB"
done
