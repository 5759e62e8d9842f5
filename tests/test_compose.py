"""docker-compose.yml is valid and wires nakama-py to PostgreSQL (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path

import yaml

from nakama_py.config import load_config
from tests.support.server import REPO


def test_compose_file_structure() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"postgres", "nakama"}
    postgres, nakama = services["postgres"], services["nakama"]
    assert postgres["image"].startswith("postgres:")
    assert "healthcheck" in postgres
    assert nakama["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert nakama["build"] == "."
    command = nakama["command"]
    assert command[0] == "serve"
    address = command[command.index("--database.address") + 1]
    assert address.endswith("@postgres:5432/nakama")
    assert "7350:7350" in nakama["ports"]
    assert nakama["healthcheck"]["test"][1:3] == ["nakama-py", "healthcheck"]
    for volume in compose.get("volumes", {}):
        assert any(volume in str(m) for s in services.values() for m in s.get("volumes", []))
    assert (REPO / "Dockerfile").exists()


def test_example_config_loads() -> None:
    config = load_config([str(REPO / "config" / "nakama-py.yml")], environ={})
    assert config.metrics.prometheus_port == 9100
    assert config.runtime.path == "runtime_modules"
    assert Path(config.runtime.path).name == "runtime_modules"
