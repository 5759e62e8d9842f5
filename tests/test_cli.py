"""The command line: version, help, healthcheck, migrate, and errors."""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nakama_py import __version__
from nakama_py.cli import main
from tests.support.database import drop_database, with_database
from tests.support.ports import free_port
from tests.support.server import REPO, start_server

pytestmark = pytest.mark.slow  # runs the command line in processes


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nakama_py", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"nakama-py {__version__}"


def test_help_and_unknown_command() -> None:
    assert main(["--help"]) == 0
    result = run("launch")
    assert result.returncode == 2
    assert "unknown command" in result.stderr


def test_healthcheck_command(tmp_path: Path, database_url: str) -> None:
    assert run("healthcheck", str(free_port())).returncode == 1
    server = start_server(tmp_path, database_url)
    try:
        result = run("healthcheck", str(server.port))
        assert result.returncode == 0 and result.stdout.strip() == "healthy"
    finally:
        server.stop()


def test_migrate_status_lists_every_migration(database_url: str) -> None:
    result = run("migrate", "status", "--database.address", database_url, "--logger.level", "error")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines and all("pending" not in line for line in lines)
    assert lines[0].startswith("0001_nakama_schema")
    assert run("migrate", "sideways").returncode == 2


def test_a_port_in_use_is_one_clear_error(tmp_path: Path, database_url: str) -> None:
    server = start_server(tmp_path, database_url)
    try:
        result = run("serve", "--socket.port", str(server.port), "--socket.address", "127.0.0.1",
                     "--database.address", database_url, "--data_dir", str(tmp_path / "data2"))
        assert result.returncode == 1
        assert f"socket.port {server.port}" in result.stdout + result.stderr
    finally:
        server.stop()


def test_a_console_port_in_use_stops_the_start_before_the_api_answers(tmp_path: Path, database_url: str) -> None:
    """A process about to exit must never look ready: a load balancer (or a test) would take it for one."""
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        console_port = taken.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "nakama_py", "serve", "--socket.port", str(port), "--socket.address", "127.0.0.1",
             "--console.port", str(console_port), "--database.address", database_url,
             "--data_dir", str(tmp_path / "data"), "--runtime.path", str(tmp_path)],  # no modules
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
        answered = 0
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=1) as response:
                answered += response.status == 200
            time.sleep(0.002)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 1
    assert f"console.port {console_port} on 127.0.0.1 is already in use" in output, output[-3000:]
    assert answered == 0


def test_every_command_takes_help() -> None:
    for command in ("serve", "migrate", "healthcheck", "scheduler", "bench"):
        for flag in ("-h", "--help"):
            result = run(command, flag)
            assert result.returncode == 0, (command, flag, result.stderr)
            assert result.stdout.lower().startswith("usage: nakama-py " + command), (command, flag, result.stdout)
            assert "Traceback" not in result.stderr


def test_migrate_creates_a_missing_database(database_url: str) -> None:
    missing = with_database(database_url, f"nakama_py_created_{secrets.token_hex(4)}")
    try:
        started = time.monotonic()
        result = run("migrate", "up", "--database.address", missing, "--logger.level", "error")
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 15  # not a pool timeout
        status = run("migrate", "status", "--database.address", missing, "--logger.level", "error")
        assert status.returncode == 0 and "pending" not in status.stdout
    finally:
        drop_database(missing)


def test_an_unreachable_database_is_one_line_quickly(tmp_path: Path) -> None:
    address = f"postgres@127.0.0.1:{free_port()}/nakama"  # nothing listens there
    started = time.monotonic()
    result = run("migrate", "status", "--database.address", address)
    assert time.monotonic() - started < 5  # interpreter start-up included; the check itself is < 2 s
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "cannot connect to the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_racing_setting_stops_start_up_in_one_line(tmp_path: Path, database_url: str) -> None:
    result = run("serve", "--database.address", database_url, "--data_dir", str(tmp_path / "data"),
                 "--socket.port", str(free_port()), "--socket.address", "127.0.0.1",
                 "--console.port", str(free_port()), "--runtime.path", str(REPO / "runtime_modules"),
                 "--runtime.env", "racing_cycle_seconds=7", "--logger.format", "text")
    assert result.returncode == 1
    output = (result.stdout + result.stderr).strip().splitlines()
    errors = [line for line in output if "racing_cycle_seconds" in line]
    assert len(errors) == 1 and "does not divide a minute" in errors[0]
    assert not any("Traceback" in line for line in output)


def test_healthcheck_asks_for_the_healthcheck_route() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    asked: list[str] = []

    class OnlyHealthcheck(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200 if self.path == "/healthcheck" else 404)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), OnlyHealthcheck)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert main(["healthcheck", str(server.server_address[1])]) == 0
        assert asked == ["/healthcheck"]
    finally:
        server.shutdown()
        server.server_close()


def test_serve_creates_a_missing_database(tmp_path: Path, database_url: str) -> None:
    missing = with_database(database_url, f"nakama_py_serve_created_{secrets.token_hex(4)}")
    try:
        started = time.monotonic()
        server = start_server(tmp_path, missing, timeout=30)
        try:
            assert time.monotonic() - started < 15
            assert '"msg":"database created"' in server.log()
        finally:
            assert server.stop() == 0
    finally:
        drop_database(missing)
