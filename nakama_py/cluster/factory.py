"""Which cluster bus a process uses: NATS when ``cluster.nats_url`` is set, PostgreSQL otherwise (the NATS
client is imported only in the first case)."""

from __future__ import annotations

from nakama_py.cluster.bus import ClusterBus
from nakama_py.cluster.pg_bus import PgBus
from nakama_py.config import Config
from nakama_py.db.pool import Database


def make_bus(config: Config, db: Database) -> ClusterBus:
    if config.cluster.nats_url:
        from nakama_py.cluster.nats_bus import NatsBus

        return NatsBus(config.cluster.nats_url, config.name, prefix=config.cluster.nats_prefix)
    return PgBus(db, config.name)
