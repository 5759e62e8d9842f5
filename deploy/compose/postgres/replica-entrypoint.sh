#!/bin/sh
# A streaming replica: on first start, a base backup of the primary (with standby.signal and
# primary_conninfo written by -R); then PostgreSQL as usual, in recovery.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h postgres-primary -U "$POSTGRES_USER"; do sleep 1; done
  mkdir -p "$PGDATA" && chown postgres "$PGDATA" && chmod 700 "$PGDATA"
  su-exec postgres env PGPASSWORD="$POSTGRES_PASSWORD" \
    pg_basebackup -h postgres-primary -U "$POSTGRES_USER" -D "$PGDATA" -R -X stream --checkpoint=fast
fi
exec su-exec postgres postgres -c hot_standby=on
