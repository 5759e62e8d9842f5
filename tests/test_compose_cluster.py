"""deploy/compose: the Tier 2/3 cluster file parses, references only paths that exist, and wires
three nodes behind nginx to pgbouncer, a streaming replica, NATS and Prometheus with our alerts."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

import yaml

from nakama_py.config import load_config
from tests.support.server import REPO

COMPOSE = REPO / "deploy" / "compose"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
    return loaded


def bind_sources(service: dict[str, Any]) -> list[Path]:
    """Host paths of a service's bind mounts (named volumes have no slash)."""
    sources = [str(v).split(":", 1)[0] for v in service.get("volumes", [])]
    return [(COMPOSE / s).resolve() for s in sources if s.startswith((".", "/"))]


def test_every_referenced_path_exists() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for source in bind_sources(service):
            assert source.exists(), f"{name} mounts {source}, which does not exist"
        build = service.get("build")
        if build:
            assert (COMPOSE / build / "Dockerfile").exists()
    named = {str(v).split(":", 1)[0] for s in services.values() for v in s.get("volumes", [])}
    assert set(compose()["volumes"]) <= named


def test_the_topology_is_the_design_documents_tiers() -> None:
    services = compose()["services"]
    assert services["nakama"]["deploy"]["replicas"] == 3
    assert services["nginx"]["ports"] == ["7350:7350"]
    assert "-js" in services["nats"]["command"]
    assert "pg_basebackup" in (COMPOSE / "postgres" / "replica-entrypoint.sh").read_text()
    prometheus = services["prometheus"]
    assert any(str(v).endswith(":/etc/prometheus/alerts.yml:ro") and "config/prometheus/alerts.yml" in str(v)
               for v in prometheus["volumes"])
    scrape = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())
    assert scrape["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert "server nakama:7350" in (COMPOSE / "nginx" / "nginx.conf").read_text()


def test_the_nodes_configuration_loads_and_points_at_the_services() -> None:
    config = load_config([str(COMPOSE / "nakama-py.yml")], environ={})
    services = compose()["services"]
    assert config.database.pgbouncer
    assert config.database.address[0].endswith("@pgbouncer:6432/nakama")
    assert config.database.session_address.endswith("@postgres-primary:5432/nakama")
    assert config.database.read_address == ["postgres:localdb@postgres-replica:5432/nakama"]
    assert config.cluster.nats_url == "nats://nats:4222"
    assert {"pgbouncer", "postgres-primary", "postgres-replica", "nats"} <= set(services)
    bouncer = configparser.ConfigParser()
    bouncer.read(COMPOSE / "pgbouncer" / "pgbouncer.ini")
    assert bouncer["pgbouncer"]["pool_mode"] == "transaction"
    assert bouncer["pgbouncer"]["listen_port"] == "6432"
    assert config.shutdown_grace_sec < int(services["nakama"]["stop_grace_period"].rstrip("s"))
