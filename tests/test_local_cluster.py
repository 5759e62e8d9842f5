"""deploy/local/cluster.py: the documented local cluster comes up, serves through nginx, and goes
away by PID."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import REPO

pytestmark = pytest.mark.slow

SCRIPT = REPO / "deploy" / "local" / "cluster.py"


def cluster(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO)


def post(url: str, body: dict[str, Any], auth: str) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": auth, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def get(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    """Under /tmp itself: pytest's tmp_path is private to root, and the databases run as postgres."""
    directory = Path(tempfile.mkdtemp(prefix="nakama-py-cluster-", dir="/tmp"))
    directory.chmod(0o755)
    yield directory / "cluster"
    shutil.rmtree(directory, ignore_errors=True)


def test_three_nodes_behind_nginx_share_one_database_and_stop_by_pid(cluster_dir: Path) -> None:
    directory = cluster_dir
    started = cluster("up", "--dir", str(directory), "--nodes", "3", "--nats")
    assert started.returncode == 0, started.stderr[-3000:]
    state = json.loads((directory / "cluster.json").read_text())
    try:
        urls = json.loads(started.stdout)
        assert len(urls["nodes"]) == 3 and urls["balancer"].startswith("http://127.0.0.1:")
        status = cluster("status", "--dir", str(directory))
        assert status.returncode == 0 and all(json.loads(status.stdout).values())
        basic = "Basic ZGVmYXVsdGtleTo="  # defaultkey:
        session = post(f"{urls['balancer']}/v2/account/authenticate/custom?create=true", {"id": "local-cluster-1"},
                       basic)
        # The account made through the balancer is the same account on every node.
        user_ids = {get(f"{node}/v2/account", session["token"])["user"]["id"] for node in urls["nodes"]}
        assert len(user_ids) == 1
    finally:
        stopped = cluster("down", "--dir", str(directory))
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    pids = [state["nginx_pid"], state["nats_pid"], *state["node_pids"]]
    assert not [pid for pid in pids if pid_alive(pid)]
    assert not (directory / "primary" / "postmaster.pid").exists()
    assert not (directory / "cluster.json").exists()
