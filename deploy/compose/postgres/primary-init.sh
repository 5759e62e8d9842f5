#!/bin/sh
# Lets the replica stream from the primary (first start of the primary's data directory only).
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
