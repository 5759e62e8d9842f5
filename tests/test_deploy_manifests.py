"""deploy/k8s: every manifest is valid against the Kubernetes schemas, and together they do what
the design document's Tier 2 asks (replicas, probes, graceful termination, the 5-minute reset)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import validate

from nakama_py.config import load_config
from tests.support.server import REPO

K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37.0"


def manifests() -> dict[str, dict[str, Any]]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml"}


@pytest.mark.parametrize("name", sorted(manifests()))
def test_each_manifest_is_valid_for_kubernetes(name: str) -> None:
    validate(manifests()[name], KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(manifests())


def by_kind(kind: str) -> dict[str, Any]:
    (found,) = [m for m in manifests().values() if m["kind"] == kind]
    return found


def test_the_cronjob_is_the_design_documents_scheduler() -> None:
    cron = by_kind("CronJob")["spec"]
    assert cron["schedule"] == "*/5 * * * *"
    assert cron["concurrencyPolicy"] == "Forbid"
    (container,) = cron["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    command = " ".join(container["args"])
    assert "nakama-py scheduler --once" in command and "--rpc manual_reset_leaderboard" in command
    assert "http://nakama-py:7350" in command  # the Service's name and port
    assert by_kind("Service")["metadata"]["name"] == "nakama-py"


def server_config(tmp_path: Path) -> Any:
    text = by_kind("ConfigMap")["data"]["config.yml"]
    (tmp_path / "config.yml").write_text(text)
    secrets = by_kind("Secret")["stringData"]
    return load_config([str(tmp_path / "config.yml")], environ=secrets)


def test_the_configuration_loads_and_the_pods_drain_within_their_grace(tmp_path: Path) -> None:
    config = server_config(tmp_path)
    assert config.cluster.nats_url  # several pods: the NATS bus
    assert config.database.address == ["nakama:CHANGE-ME@pgbouncer:6432/nakama"]
    deployment = by_kind("Deployment")["spec"]
    pod = deployment["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["replicas"] == 3
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthcheck", "port": "http"}
    drain = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > config.shutdown_grace_sec + drain
    assert {p["containerPort"] for p in container["ports"]} == {config.socket.port, config.metrics.prometheus_port}


def test_the_budget_and_autoscaler_keep_a_quorum() -> None:
    assert by_kind("PodDisruptionBudget")["spec"]["minAvailable"] < by_kind("Deployment")["spec"]["replicas"]
    hpa = by_kind("HorizontalPodAutoscaler")["spec"]
    assert hpa["minReplicas"] == by_kind("Deployment")["spec"]["replicas"]
    assert hpa["scaleTargetRef"]["name"] == "nakama-py"
