"""A private PostgreSQL primary with a real streaming replica (pg_basebackup), made by the same
functions as deploy/local/cluster.py, for tests of read routing."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from tests.support.database import migrate
from tests.support.server import REPO

CLUSTER_SCRIPT = REPO / "deploy" / "local" / "cluster.py"


def local_cluster() -> ModuleType:
    """deploy/local/cluster.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("local_cluster", CLUSTER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("local_cluster", module)
    spec.loader.exec_module(module)
    return module


@dataclass
class Replication:
    module: ModuleType
    cluster: object  # local_cluster.Cluster

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.cluster.primary_port}/nakama"  # type: ignore[attr-defined]

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.cluster.replica_port}/nakama"  # type: ignore[attr-defined]

    def stop_replica(self) -> None:
        self.module.stop_postgres(self.cluster, "replica")

    def start_replica(self) -> None:
        pg_ctl(self.module, self.cluster, "replica", "start")


def pg_ctl(module: ModuleType, cluster: object, member: str, *args: str) -> None:
    """pg_ctl on one member ("primary" or "replica") of a private cluster, as postgres, logging where
    deploy/local/cluster.py's start_* functions log."""
    path = Path(cluster.path)  # type: ignore[attr-defined]
    module.run([str(Path(cluster.pg_bindir) / "pg_ctl"), "-D", str(path / member),  # type: ignore[attr-defined]
                "-l", str(path / "pglogs" / f"{member}.log"), "-w", *args], **module.as_postgres())


@contextmanager
def private_cluster(prefix: str) -> Iterator[tuple[ModuleType, object]]:
    """deploy/local/cluster.py's module and an unstarted Cluster on two free ports, in a directory of its
    own under /tmp itself: the databases run as postgres when we are root, and must reach the directory.
    On exit whichever members run are stopped and the directory removed."""
    module = local_cluster()
    top = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    top.chmod(0o755)
    directory = top / "pg"
    directory.mkdir()
    directory.chmod(0o755)
    cluster = module.Cluster(dir=str(directory), pg_bindir=str(module.pg_bindir()), primary_port=module.free_port(),
                             replica_port=module.free_port())
    try:
        yield module, cluster
    finally:
        module.stop_postgres(cluster, "replica")
        module.stop_postgres(cluster, "primary")
        subprocess.run(["sync"], check=False)
        shutil.rmtree(top, ignore_errors=True)


@contextmanager
def primary_with_replica() -> Iterator[Replication]:
    with private_cluster("nakama-py-replication-") as (module, cluster):
        module.start_primary(cluster)
        replication = Replication(module, cluster)
        migrate(replication.primary_url)
        module.start_replica(cluster)
        yield replication
