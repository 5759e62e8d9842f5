#!/usr/bin/env bash
# nakama-py's memory per process, idle and at the end of a load run: the server as bench/side_by_side.sh
# starts it (2 workers, fresh database), each scenario REPS times (64 connections, 5 s warm-up + 20 s, its
# own user prefix), then Rss, Pss, Private_Dirty, Shared_Dirty and Shared_Clean of every process from
# /proc/PID/smaps_rollup, the Pss sum and the unique pages (bench/unique_pages.py; docs/performance.md "Memory").
#
#   bench/memory_run.sh [OUT_DIR]      # PORT=7390 DB=memory_py REPS=1 SCENARIOS="mix" (empty: idle only) PYTHON=.venv/bin/python
#
# PSS splits a shared page between every process mapping it, other programs' too: the libraries' pages
# (libpython, OpenSSL) count less while other Python processes on the machine map them (up to ~6 MB).
set -u
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/memory-run}
PORT=${PORT:-7390}
DB=${DB:-memory_py}
REPS=${REPS:-1}
PYTHON=${PYTHON:-.venv/bin/python}
SCENARIOS=${SCENARIOS-"auth account echo submit leaderboard leaderboard-rest mix"}  # SCENARIOS= : idle only
mkdir -p "$OUT"

memory() {  # the server's processes (the supervisor, then its children), one line each, and the sum
  local pids="$1 $(cat /proc/$1/task/$1/children 2>/dev/null)"
  for pid in $pids; do
    awk -v pid="$pid" '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_Dirty:/{d=$2} /^Shared_Dirty:/{s=$2} /^Shared_Clean:/{c=$2}
      END {printf "  pid %s: rss %.1f pss %.1f private_dirty %.1f shared_dirty %.1f shared_clean %.1f MB\n",
           pid, r/1024, p/1024, d/1024, s/1024, c/1024}' "/proc/$pid/smaps_rollup"
  done
  for pid in $pids; do cat "/proc/$pid/smaps_rollup"; done | awk '/^Pss:/{p+=$2} END {printf "  total pss %.1f MB\n", p/1024}'
  "$PYTHON" bench/unique_pages.py $pids
}

psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
"$PYTHON" -m nakama_py serve --socket.port "$PORT" --socket.address 127.0.0.1 --socket.workers 2 \
  --database.address "postgres@127.0.0.1:5432/$DB" --data_dir "$OUT/py-data" --runtime.path runtime_modules \
  --runtime.env racing_submit_rate_per_minute=1000000 --runtime.env racing_cycle_seconds=86400 \
  --session.token_expiry_sec 7200 --console.port $((PORT + 1)) --metrics.prometheus_port $((PORT + 2)) \
  --logger.level warn > "$OUT/py.log" 2>&1 &
PY=$!
trap 'kill $PY 2>/dev/null; wait' EXIT
for _ in $(seq 1 120); do curl -sf "127.0.0.1:$PORT/healthcheck" >/dev/null && break; sleep 0.5; done
sleep 2
echo "idle:"
memory $PY
for scenario in $SCENARIOS; do
  extra=()
  case $scenario in leaderboard|leaderboard-rest|mix) extra=(--records 10000);; esac
  for run in $(seq 1 "$REPS"); do
    "$PYTHON" -m nakama_py bench "$scenario" --url "http://127.0.0.1:$PORT" --duration 20s --warmup 5s \
      --connections 64 "${extra[@]}" --user-prefix "mem${scenario//-/}$run" --server-pid $PY --json --quiet \
      > "$OUT/$scenario.$run.json" 2> "$OUT/$scenario.$run.err"
    echo "$scenario $run: $(memory $PY | tail -2 | tr -s ' \n' ' ')"
  done
done
echo "end:"
memory $PY
