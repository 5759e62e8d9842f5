"""What a worker process needs to start when it is not forked from the process that imported everything:
the configuration (as loaded at start-up, with where each key came from), the database to use and the
shared write-marks region (``cluster/write_marks.py``).

The supervisor replaces itself with a small program once the first workers are forked
(``nakama_py/supervisor.py``); a worker it restarts is a fresh interpreter (``nakama-py _worker INDEX FD``)
that reads this from an inherited memfd. The memfd, not the command line or the environment, carries it:
the configuration holds secrets, and the embedded database's address holds its password.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from nakama_py.config import Config


@dataclass(frozen=True)
class WorkerSpec:
    config: Config
    conninfo: str
    workers: int
    region_fd: int  # the write marks' memfd (inherited)


def write_spec(spec: WorkerSpec) -> int:
    """An inheritable memfd holding ``spec``; its descriptor."""
    data = json.dumps({
        "config": spec.config.model_dump(mode="json"),
        "sources": spec.config._sources,
        "conninfo": spec.conninfo,
        "workers": spec.workers,
        "region_fd": spec.region_fd,
    }).encode()
    fd = os.memfd_create("nakama-py-worker-spec", 0)
    os.set_inheritable(fd, True)
    os.pwrite(fd, data, 0)
    return fd


def read_spec(fd: int) -> WorkerSpec:
    size = os.fstat(fd).st_size
    data = json.loads(os.pread(fd, size, 0))
    config = Config.model_validate(data["config"])
    config._sources = dict(data["sources"])
    return WorkerSpec(config, data["conninfo"], int(data["workers"]), int(data["region_fd"]))
