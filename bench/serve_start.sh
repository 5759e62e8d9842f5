#!/bin/bash
# bench/serve_start.sh N [CHECKOUT...]: how long `nakama-py serve` takes to answer /healthcheck, and to log
# "leaderboard ranks warmed", on a database holding one ranked board of N records; once per checkout given
# (default: this one), so a before/after pair runs on the same data in the same minute.
# Needs PostgreSQL at $PGURL (default postgres@127.0.0.1:5432) and this checkout's .venv.
set -e
N=${1:?records}; shift
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$HERE/.venv/bin/python}
PG=${PGURL:-postgres@127.0.0.1:5432}
DB=nakama_py_serve_start_$N
PORT=${PORT:-7390}
TMP=$(mktemp -d)
psql "postgresql://$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
"$PY" -m nakama_py migrate up --database.address "$PG/$DB" >/dev/null 2>&1
psql "postgresql://$PG/$DB" -q -c "INSERT INTO leaderboard (id, sort_order, operator) VALUES ('big', 1, 0)" \
  -c "INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, subscore, metadata)
      SELECT 'big', gen_random_uuid(), 'racer_' || i, (random() * 3600000)::bigint, 0, '{}'
      FROM generate_series(1, $N) i" -c "ANALYZE leaderboard_record"
mkdir -p "$TMP/modules"
for SRC in "${@:-$HERE}"; do
  LOG=$TMP/serve.log
  T0=$(date +%s.%N)
  (cd "$SRC" && PYTHONPATH=$SRC exec "$PY" -m nakama_py serve --socket.port "$PORT" --socket.address 127.0.0.1 \
    --console.port $((PORT + 1)) --logger.level info --database.address "$PG/$DB" --runtime.path "$TMP/modules" \
    --data_dir "$TMP/data" > "$LOG" 2>&1) &
  SPID=$!
  until curl -fs "127.0.0.1:$PORT/healthcheck" >/dev/null 2>&1; do sleep 0.05; done
  T1=$(date +%s.%N)
  until grep -q "leaderboard ranks warmed" "$LOG"; do sleep 0.05; done
  T2=$(date +%s.%N)
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
  python3 -c "print('$N records, $SRC: healthy after %.2f s, ranks warmed after %.2f s' % ($T1 - $T0, $T2 - $T0))"
done
psql "postgresql://$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
rm -rf "$TMP"
