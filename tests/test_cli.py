"""The command line: version, help, healthcheck, migrate, and errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nakama_py import __version__
from nakama_py.cli import main
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
