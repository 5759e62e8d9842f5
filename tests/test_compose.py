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


def test_compose_exposes_the_console_and_mounts_the_config() -> None:
    nakama = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["nakama"]
    assert "7351:7351" in [str(port).split()[0] for port in nakama["ports"]]
    assert "./config:/nakama/config:ro" in nakama["volumes"]
    command = nakama["command"]
    assert command[command.index("--console.address") + 1] == "0.0.0.0"  # reachable from the host


def test_the_image_installs_pinned_versions_of_every_dependency() -> None:
    import re
    import tomllib

    dockerfile = (REPO / "Dockerfile").read_text()
    assert "COPY pyproject.toml README.md constraints.txt" in dockerfile
    assert "pip install --no-cache-dir -c constraints.txt ." in dockerfile
    assert "EXPOSE 7350 7351" in dockerfile
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[name.lower()] = version
    for requirement in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        name = re.split(r"[<>=\[;! ]", requirement, maxsplit=1)[0].lower()
        assert name in pins, f"{name} has no pinned version in constraints.txt"
