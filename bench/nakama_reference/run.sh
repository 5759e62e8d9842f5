#!/usr/bin/env bash
# Real Nakama v3.40.0 (built by build.sh into $NAKAMA_BUILD) with this directory's Lua modules: the
# racing RPCs of runtime_modules/racing and the example module's echo, for side-by-side runs of
# `nakama-py bench` (bench/side_by_side.sh). Runs in the foreground; `exec` makes this script's PID
# Nakama's own, so `kill <pid>` (SIGTERM) stops it cleanly.
#
# Ports, all on 127.0.0.1: the API on 7450 (its gRPC on 7449: Nakama uses socket.port - 1), the console
# on 7451 (console.port - 3 for its gRPC: 7448). Extra arguments are passed on to Nakama (later flags win).
# NAKAMA_REF_DB names the database (made if missing). The racing settings are the ones
# docs/performance.md runs nakama-py with: RACING_SUBMIT_RATE_PER_MINUTE, RACING_CYCLE_SECONDS.
set -euo pipefail
BUILD=${NAKAMA_BUILD:-/work/nakama-build}
MODULES=$(cd "$(dirname "$0")/modules" && pwd)
DB=${NAKAMA_REF_DB:-nakama_ref}
ADDRESS="postgres@127.0.0.1:5432/${DB}"

if [ -z "$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${DB}'")" ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE \"${DB}\""
fi
"$BUILD/nakama" migrate up --database.address "$ADDRESS" --logger.level WARN
mkdir -p "$BUILD/data"
export TZ=UTC
exec "$BUILD/nakama" \
  --name nakama-ref --data_dir "$BUILD/data" --database.address "$ADDRESS" \
  --socket.address 127.0.0.1 --socket.port 7450 --console.address 127.0.0.1 --console.port 7451 \
  --runtime.path "$MODULES" \
  --runtime.env "racing_submit_rate_per_minute=${RACING_SUBMIT_RATE_PER_MINUTE:-1000000}" \
  --runtime.env "racing_cycle_seconds=${RACING_CYCLE_SECONDS:-86400}" \
  --session.token_expiry_sec 7200 --logger.level WARN \
  "$@"
