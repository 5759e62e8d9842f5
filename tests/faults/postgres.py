"""A PostgreSQL cluster of the test's own (initdb with Debian's binaries, as deploy/local/cluster.py
makes one), to restart, stop and cut off without touching the shared server."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from tests.support.database import migrate
from tests.support.replication import local_cluster


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
        path = Path(self.cluster.path)  # type: ignore[attr-defined]
        self.module.run([str(Path(self.cluster.pg_bindir) / "pg_ctl"), "-D", str(path / "primary"),  # type: ignore[attr-defined]
                         "-l", str(path / "pglogs" / "primary.log"), "-w", *args], **self.module.as_postgres())

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "restart")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("start")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Under /tmp itself: PostgreSQL runs as postgres when we are root, and must reach the directory."""
    module = local_cluster()
    top = Path(tempfile.mkdtemp(prefix="nakama-py-faults-", dir="/tmp"))
    top.chmod(0o755)
    directory = top / "pg"
    directory.mkdir()
    directory.chmod(0o755)
    cluster = module.Cluster(dir=str(directory), pg_bindir=str(module.pg_bindir()), primary_port=module.free_port(),
                             replica_port=module.free_port())
    try:
        module.start_primary(cluster)
        postgres = PrivatePostgres(module, cluster)
        migrate(postgres.url)
        yield postgres
    finally:
        module.stop_postgres(cluster, "primary")
        subprocess.run(["sync"], check=False)
        shutil.rmtree(top, ignore_errors=True)
