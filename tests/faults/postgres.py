"""A PostgreSQL cluster of the test's own (initdb with Debian's binaries, as deploy/local/cluster.py
makes one), to restart, stop and cut off without touching the shared server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from tests.support.database import migrate
from tests.support.replication import pg_ctl, private_cluster


@dataclass
class PrivatePostgres:
    module: ModuleType
    cluster: object  # local_cluster.Cluster

    @property
    def port(self) -> int:
        return int(self.cluster.primary_port)  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/nakama"

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl(self.module, self.cluster, "primary", *args)

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "restart")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("start")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    with private_cluster("nakama-py-faults-") as (module, cluster):
        module.start_primary(cluster)
        postgres = PrivatePostgres(module, cluster)
        migrate(postgres.url)
        yield postgres
