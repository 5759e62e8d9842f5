"""The server's processes as the fault tests see them: a supervisor's workers, the worker running a
given database session, and a kill -9 of everything."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import psycopg

from tests.support.server import ServerProcess


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


async def workers(server: ServerProcess, count: int, *, without: int = 0, timeout: float = 60.0) -> list[int]:
    """The supervisor's worker pids once there are ``count`` of them (none of them ``without``, a worker
    just killed, which stays a child until the supervisor reaps it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = children(server.process.pid)
        if len(found) == count and without not in found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} workers, found {children(server.process.pid)}")


def kill_all(server: ServerProcess) -> None:
    """kill -9 of the whole server: the supervisor and every worker at once."""
    pids = [server.process.pid, *children(server.process.pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.process.wait()


def process_waiting_on_lock(database_url: str) -> int | None:
    """The local process whose database connection waits on a row lock, found by the connection's
    client port (pg_stat_activity, then ss)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        ports = [row[0] for row in conn.execute(
            "SELECT client_port FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND client_port IS NOT NULL")]
    for port in ports:
        out = subprocess.run(["ss", "-Htnp", f"sport = :{port}"], capture_output=True, text=True,
                             check=False).stdout
        match = re.search(r"pid=(\d+)", out)
        if match:
            return int(match.group(1))
    return None
