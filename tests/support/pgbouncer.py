"""A private pgbouncer (Debian's) in transaction pooling mode in front of the test PostgreSQL."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.ports import free_port, listening

CONFIG = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/users.txt
pool_mode = transaction
default_pool_size = {pool}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,application_name
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
"""


def through(database_url: str, port: int) -> str:
    """The same database, reached through the bouncer on ``port``."""
    parts = urlsplit(database_url)
    user = parts.username or "postgres"
    return urlunsplit((parts.scheme, f"{user}@127.0.0.1:{port}", parts.path, parts.query, ""))


def wait_listening(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"pgbouncer did not listen on {port}")


@contextmanager
def pgbouncer(database_url: str, *, pool: int = 8) -> Iterator[str]:
    """Yields ``database_url`` as reached through a transaction-pooling pgbouncer; stopped by PID."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    directory = Path(tempfile.mkdtemp(prefix="nakama-py-pgbouncer-", dir="/tmp"))
    directory.chmod(0o755)
    target = urlsplit(database_url)
    listen = free_port()
    (directory / "users.txt").write_text(f'"{target.username or "postgres"}" ""\n')
    conf = directory / "pgbouncer.ini"
    conf.write_text(CONFIG.format(host=target.hostname, port=target.port or 5432, listen=listen, dir=directory,
                                  pool=pool))
    argv = [binary, str(conf)]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        account = pwd.getpwnam("postgres")
        for path in directory.iterdir():
            os.chown(path, account.pw_uid, account.pw_gid)
        os.chown(directory, account.pw_uid, account.pw_gid)
        argv = [binary, "-u", "postgres", str(conf)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_listening(listen)
        yield through(database_url, listen)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)
