"""Production mode: ``nakama-py serve --production`` (or ``production: true``) refuses weak secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nakama_py.config import DEFAULT_SECRETS, PRODUCTION_DEFAULTS, load_config
from tests.support.ports import free_port
from tests.support.server import REPO, start_server

STRONG = {
    "session.encryption_key": "s" * 32,
    "session.refresh_encryption_key": "r" * 32,
    "socket.server_key": "k" * 16,
    "runtime.http_key": "h" * 16,
    "console.password": "p" * 16,
    "console.signing_key": "c" * 32,
    "console.username": "operator",
}


def strong_flags(**overrides: str) -> list[str]:
    values = {**STRONG, **overrides}
    return [item for key, value in values.items() for item in (f"--{key}", value)]


def serve(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nakama_py", "serve", "--socket.address", "127.0.0.1",
         "--socket.port", str(free_port()), "--console.port", str(free_port()),
         "--data_dir", str(tmp_path / "data"), "--database.address", database_url, *args],
        capture_output=True, text=True, timeout=60, cwd=REPO)


def test_weak_secrets_names_defaults_and_short_values() -> None:
    assert [p.split(" ")[0] for p in load_config(environ={}).weak_secrets()] == list(PRODUCTION_DEFAULTS)
    flags = {key: [value] for key, value in STRONG.items()}
    assert load_config(flags=flags, environ={}).weak_secrets() == []
    flags["socket.server_key"] = ["short"]
    assert load_config(flags=flags, environ={}).weak_secrets() == [
        "socket.server_key is shorter than 16 characters"]


@pytest.mark.slow
def test_production_flag_refuses_every_default_secret_in_one_message(tmp_path: Path, database_url: str) -> None:
    result = serve(tmp_path, database_url, "--production")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if "production mode" in line]
    assert len(lines) == 1, output
    for key in PRODUCTION_DEFAULTS:
        assert f"{key} is the published default" in lines[0]
    assert "server ready" not in output


@pytest.mark.slow
def test_production_flag_names_a_secret_that_is_too_short(tmp_path: Path, database_url: str) -> None:
    result = serve(tmp_path, database_url, *strong_flags(**{"session.encryption_key": "x" * 31}), "--production")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "session.encryption_key is shorter than 32 characters" in output
    assert "socket.server_key" not in output


@pytest.mark.slow
def test_production_key_in_a_file_starts_with_strong_secrets(tmp_path: Path, database_url: str) -> None:
    config_file = tmp_path / "production.yml"
    config_file.write_text("production: true\n")
    refused = serve(tmp_path, database_url, "--config", str(config_file))
    assert refused.returncode == 1 and "runtime.http_key is the published default" in refused.stdout + refused.stderr
    server = start_server(tmp_path, database_url, "--config", str(config_file), *strong_flags())
    try:
        assert "published default" not in server.log()
    finally:
        assert server.stop() == 0


@pytest.mark.slow
def test_without_production_mode_defaults_only_warn(tmp_path: Path, database_url: str) -> None:
    server = start_server(tmp_path, database_url, "--production", "false")
    try:
        log = server.log()
        for key in DEFAULT_SECRETS:
            assert f"{key} is the published default" in log
    finally:
        assert server.stop() == 0
