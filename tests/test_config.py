"""Configuration: Nakama's keys and defaults, source precedence, and one-line validation errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nakama_py.config import Config, ConfigError, load_config, parse_flags
from nakama_py.db.address import AddressError, describe, to_conninfo


def test_defaults_are_nakamas() -> None:
    config = load_config(environ={})
    assert config.name == "nakama"
    assert config.socket.port == 7350
    assert config.socket.server_key == "defaultkey"
    assert config.socket.max_request_size_bytes == 262144
    assert config.session.token_expiry_sec == 60
    assert config.session.refresh_token_expiry_sec == 3600
    assert config.session.encryption_key == "defaultencryptionkey"
    assert config.session.refresh_encryption_key == "defaultrefreshencryptionkey"
    assert config.runtime.http_key == "defaulthttpkey"
    assert config.metrics.prometheus_port == 0
    assert config.logger.level == "info" and config.logger.format == "json"
    assert config.leaderboard.blacklist_rank_cache == []
    assert config.database.address == []
    assert config.data_path == Path.cwd() / "data"


def test_default_secrets_are_reported() -> None:
    config = load_config(environ={})
    assert set(config.default_secrets()) == {
        "session.encryption_key", "session.refresh_encryption_key", "socket.server_key", "runtime.http_key",
        "console.password", "console.signing_key"}
    files, flags = parse_flags(["--socket.server_key", "k1", "--runtime.http_key", "k2",
                                "--session.encryption_key", "a", "--session.refresh_encryption_key", "b",
                                "--console.password", "c", "--console.signing_key", "d"])
    assert load_config(files, flags, environ={}).default_secrets() == []


def test_sources_later_ones_win(tmp_path: Path) -> None:
    first = tmp_path / "a.yml"
    first.write_text("name: first\nsocket:\n  port: 7001\n  server_key: from-a\nlogger:\n  level: debug\n")
    second = tmp_path / "b.yml"
    second.write_text("socket:\n  port: 7002\nruntime:\n  env: ['x=1', 'y=2']\n")
    files, flags = parse_flags(["--config", str(first), "--config", str(second), "--socket.port", "7004"])
    env = {"NAKAMA_SOCKET_PORT": "7003", "NAKAMA_LOGGER_LEVEL": "error", "NAKAMA_NAME": "from-env"}
    config = load_config(files, flags, environ=env)
    assert config.socket.port == 7004  # flag beats env, env beats files
    assert config.socket.server_key == "from-a"  # the first file's key survives the merge
    assert config.logger.level == "error"  # env beats the file
    assert config.name == "from-env"
    assert config.runtime.env_map == {"x": "1", "y": "2"}
    assert config.config == [str(first), str(second)]


def test_flag_forms_and_lists() -> None:
    files, flags = parse_flags(["--socket.port=7351", "--runtime.env", "a=1", "--runtime.env", "b=x=y",
                                "--database.address", "postgres@127.0.0.1:5432/nakama"])
    config = load_config(files, flags, environ={})
    assert config.socket.port == 7351
    assert config.runtime.env_map == {"a": "1", "b": "x=y"}
    assert config.database.address == ["postgres@127.0.0.1:5432/nakama"]
    files, flags = parse_flags(["--runtime.env", "racing_rewards=1000,500,250", "--runtime.env", "a=1,b=2"])
    env_map = load_config(files, flags, environ={}).runtime.env_map
    assert env_map == {"racing_rewards": "1000,500,250", "a": "1", "b": "2"}
    config = load_config(environ={"NAKAMA_DATABASE_ADDRESS": "a@h1:1/d,b@h2:2/d"})
    assert config.database.address == ["a@h1:1/d", "b@h2:2/d"]


@pytest.mark.parametrize(("args", "message"), [
    (["--socket.port", "70000"], "socket.port"),
    (["--socket.port", "abc"], "socket.port"),
    (["--session.refresh_encryption_key", "defaultencryptionkey"], "session.refresh_encryption_key"),
    (["--session.token_expiry_sec", "0"], "session.token_expiry_sec"),
    (["--logger.level", "loud"], "logger.level"),
    (["--name", "a-name-longer-than-sixteen"], "name"),
    (["--runtime.env", "novalue"], "runtime.env"),
    (["--runtime.http_key", ""], "runtime.http_key"),
])
def test_invalid_values_name_the_key(args: list[str], message: str) -> None:
    files, flags = parse_flags(args)
    with pytest.raises(ConfigError) as caught:
        load_config(files, flags, environ={})
    text = str(caught.value)
    assert message in text and "\n" not in text


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown configuration key: --socket\.portt"):
        parse_flags(["--socket.portt", "1"])
    bad = tmp_path / "bad.yml"
    bad.write_text("socket:\n  portt: 7350\n")
    with pytest.raises(ConfigError, match=r"unknown configuration key: socket\.portt"):
        load_config([str(bad)], environ={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_config([str(tmp_path / "missing.yml")], environ={})


def test_nakama_sections_we_do_not_implement_load_with_a_notice(tmp_path: Path) -> None:
    nakama_yml = tmp_path / "nakama.yml"
    nakama_yml.write_text("console:\n  port: 7351\nsatori:\n  url: https://satori.example\n")
    config = load_config([str(nakama_yml)], environ={})
    assert config.unsupported_sections() == ["satori"]


def test_matchmaker_keys_have_nakamas_defaults_and_bounds(tmp_path: Path) -> None:
    defaults = load_config(environ={}).matchmaker
    assert (defaults.max_tickets, defaults.interval_sec, defaults.max_intervals, defaults.rev_precision,
            defaults.rev_threshold) == (3, 15, 2, False, 1)
    nakama_yml = tmp_path / "nakama.yml"
    nakama_yml.write_text("matchmaker:\n  interval_sec: 1\n  rev_precision: true\n")
    config = load_config([str(nakama_yml)], environ={"NAKAMA_MATCHMAKER_MAX_TICKETS": "5"})
    assert (config.matchmaker.interval_sec, config.matchmaker.rev_precision, config.matchmaker.max_tickets) == (
        1, True, 5)
    assert config.unsupported_sections() == []
    nakama_yml.write_text("matchmaker:\n  interval_sec: 0\n")
    with pytest.raises(ConfigError, match=r"matchmaker\.interval_sec"):
        load_config([str(nakama_yml)], environ={})


def test_runtime_path_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.runtime_path == tmp_path / "data" / "modules"
    (tmp_path / "runtime_modules").mkdir()
    assert load_config(environ={}).runtime_path == tmp_path / "runtime_modules"


def test_database_address_forms() -> None:
    assert to_conninfo("postgres@127.0.0.1:5432/nakama") == "postgresql://postgres@127.0.0.1:5432/nakama"
    assert to_conninfo("bob:p@ss@db:6000/game") == "postgresql://bob:p%40ss@db:6000/game"
    assert to_conninfo("db.local") == "postgresql://root@db.local:5432/nakama"
    assert to_conninfo("u@h/d?sslmode=disable") == "postgresql://u@h:5432/d?sslmode=disable"
    assert to_conninfo("postgresql://x:y@h:1/z") == "postgresql://x:y@h:1/z"
    assert describe("postgresql://x:secret@h:1/z") == "postgresql://x@h:1/z"
    with pytest.raises(AddressError):
        to_conninfo("u@:12/x")


def test_cli_reports_a_config_error_in_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "nakama_py", "serve", "--socket.port", "99999"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "socket.port" in result.stderr


def test_config_is_immutable() -> None:
    config = Config()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        config.socket.port = 1  # type: ignore[misc]


def test_bad_yaml_names_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("socket:\n  port: 7350\n  server_key: [unclosed\nruntime:\n  http_key: k\n")
    with pytest.raises(ConfigError) as caught:
        load_config([str(path)], environ={})
    message = str(caught.value)
    assert message.startswith(f"config file {path} is not valid YAML: line 4, column ")
    assert "\n" not in message


def test_party_keys_have_nakamas_defaults_and_bounds(tmp_path: Path) -> None:
    defaults = load_config(environ={}).party
    assert (defaults.label_update_interval_ms, defaults.idle_check_interval_ms) == (1000, 30000)
    nakama_yml = tmp_path / "nakama.yml"
    nakama_yml.write_text("party:\n  idle_check_interval_ms: 5000\n")
    config = load_config([str(nakama_yml)], environ={})
    assert config.party.idle_check_interval_ms == 5000 and config.unsupported_sections() == []
    nakama_yml.write_text("party:\n  label_update_interval_ms: 0\n")
    with pytest.raises(ConfigError, match=r"party\.label_update_interval_ms"):
        load_config([str(nakama_yml)], environ={})
