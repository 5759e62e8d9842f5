"""Every metric the alert rules and the dashboard use is exported by a running server."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.support.ports import free_port
from tests.support.racing import HTTP_KEY, racing_flags, rpc, until_cycle_end, until_cycle_start
from tests.support.server import REPO, start_server
from tests.support.users import create_user_in

CYCLE = 2
METRIC = re.compile(r"\b(nakama_[a-z0-9_]+)")


def referenced_metrics() -> set[str]:
    names: set[str] = set()
    alerts = yaml.safe_load((REPO / "config" / "prometheus" / "alerts.yml").read_text())
    for group in alerts["groups"]:
        for rule in group["rules"]:
            names.update(METRIC.findall(rule["expr"]))
    dashboard = json.loads((REPO / "config" / "grafana" / "racing-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names.update(METRIC.findall(target["expr"]))
    return names


def exported(exposition: str) -> set[str]:
    return {line.split("{")[0].split(" ")[0] for line in exposition.splitlines() if line and not line.startswith("#")}



def test_the_rules_reference_the_racing_metrics() -> None:
    names = referenced_metrics()
    for expected in ("nakama_rpc_duration_seconds_bucket", "nakama_custom_racing_last_finalize_timestamp_seconds",
                     "nakama_custom_racing_submissions_rejected_total"):
        assert expected in names


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_every_referenced_metric_is_exported(tmp_path: Path, own_database: str, workers: str) -> None:
    metrics_port = free_port()
    flags = racing_flags(tmp_path, cycle_seconds=CYCLE, submit_rate_per_minute=2)
    server = start_server(tmp_path, own_database, *flags,
                          "--metrics.prometheus_port", str(metrics_port), "--socket.workers", workers)
    try:
        player = create_user_in(own_database)
        async with aiohttp.ClientSession() as session:
            cycle = await until_cycle_start(CYCLE, margin=0.05)
            for key in ("a", "a", "b", "c"):  # accepted, duplicate, accepted, rate limited
                await rpc(session, server.url, "submit_race_time", {"race_time": 10, "idempotency_key": key},
                          token=player.token)
            await rpc(session, server.url, "submit_race_time", {"race_time": -1, "idempotency_key": "x"},
                      token=player.token)
            await rpc(session, server.url, "get_leaderboard", {}, token=player.token)
            await rpc(session, server.url, "get_leaderboard", {"limit": 0}, http_key=HTTP_KEY)
            await until_cycle_end(cycle, CYCLE, settle=1.5)  # the reset hook finalizes the cycle
            missing = referenced_metrics()
            for _ in range(50):
                async with session.get(f"http://127.0.0.1:{metrics_port}/metrics") as response:
                    assert response.status == 200
                    text = await response.text()
                missing = referenced_metrics() - exported(text)
                if not missing:
                    break
                await asyncio.sleep(0.2)
            assert not missing, f"referenced but not exported: {sorted(missing)}"
            assert 'reason="rate_limit"' in text and 'reason="duplicate"' in text and 'reason="invalid"' in text
    finally:
        server.stop()
