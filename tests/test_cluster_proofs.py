"""Three nodes behind nginx (deploy/local/cluster.py) behave as one server with the racing module:
nakama-js reads its own standing on every request while requests rotate, players on different
nodes see each other within the bound, concurrent resets spread across nodes pay once, and a node
killed with SIGKILL during load loses no acknowledged submission and rejoins on restart."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from tests.support.node import run_client
from tests.support.racing import HTTP_KEY, racing_flags, rpc, until_cycle_end, until_cycle_start
from tests.support.replication import local_cluster
from tests.support.server import REPO
from tests.support.users import TestUser, create_user_in
from tests.test_racing_finalize import REWARDS, assert_paid_once

pytestmark = pytest.mark.slow

SCRIPT = REPO / "deploy" / "local" / "cluster.py"
CYCLE = 6  # seconds: cycles end within a test
# Another player's write reaches every node's ranks within core/ranks.py's VISIBILITY_BOUND_SEC (1 s),
# and get_leaderboard's rendered standings are kept up to racing_leaderboard_cache_ms (default 1 s).
VISIBILITY_BOUND_SEC = 1.0 + 1.0


class LocalCluster:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state: dict[str, Any] = json.loads((directory / "cluster.json").read_text())

    @property
    def balancer(self) -> str:
        return f"http://127.0.0.1:{self.state['balancer_port']}"

    @property
    def balancer_port(self) -> int:
        return int(self.state["balancer_port"])

    def node(self, index: int) -> str:
        return f"http://127.0.0.1:{self.state['node_ports'][index]}"

    @property
    def database(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.state['primary_port']}/nakama"


def cluster_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=240,
                          cwd=REPO)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    top = Path(tempfile.mkdtemp(prefix="nakama-py-proofs-", dir="/tmp"))
    top.chmod(0o755)
    directory = top / "cluster"
    flags = [*racing_flags(top, cycle_seconds=CYCLE, submit_rate_per_minute=100000), "--logger.level", "warn",
             "--session.token_expiry_sec", "7200"]
    started = cluster_command("up", "--dir", str(directory), "--nodes", "3", "--nats", "--", *flags)
    assert started.returncode == 0, started.stderr[-3000:]
    try:
        yield LocalCluster(directory)
    finally:
        stopped = cluster_command("down", "--dir", str(directory))
        assert stopped.returncode == 0, stopped.stderr[-3000:]
        shutil.rmtree(top, ignore_errors=True)


def test_nakama_js_reads_its_own_standing_on_every_request_through_the_balancer(cluster: LocalCluster) -> None:
    result = run_client("cluster.mjs", cluster.balancer_port, env={"RUN_TAG": secrets.token_hex(4), "ROUNDS": "12"},
                        timeout=120)
    assert result["account_id"] == result["user_id"]
    checked = 0
    for step in result["steps"]:
        submitted, board = step["submitted"], step["board"]
        assert submitted["success"] is True
        if submitted["cycle"] != board["cycle"]:
            continue  # a cycle ended between the two calls
        # The best time just written, at the rank the submission reported, whichever node answered.
        assert board["me"] == {"rank": submitted["rank"], "race_time_ms": submitted["best_time_ms"]}, step
        checked += 1
    assert checked >= 8
    # Proven from acks the reading node already held, thanks to the writers' hold (core/node_sync.py).
    deadline = time.monotonic() + 5  # the counters reach /metrics within a second
    while own_reads_proven_at_once(cluster) == 0:
        assert time.monotonic() < deadline, "no own-standing read was proven at once"
        time.sleep(0.2)


def own_reads_proven_at_once(cluster: LocalCluster) -> float:
    total = 0.0
    for port in cluster.state["metrics_ports"]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("nakama_cluster_own_reads_total{") and 'proof="at_once"' in line:
                    total += float(line.rsplit(" ", 1)[1])
    return total


async def best_time_seen(session: aiohttp.ClientSession, base: str, viewer: TestUser, other: TestUser,
                         cycle: int) -> int | None:
    status, board = await rpc(session, base, "get_leaderboard", {"limit": 100, "cycle": cycle}, token=viewer.token)
    assert status == 200, board
    times = [e["race_time_ms"] for e in board["entries"] if e["user_id"] == other.user_id]
    return times[0] if times else None


async def test_players_on_different_nodes_see_each_other_within_the_bound(cluster: LocalCluster) -> None:
    first, second = (create_user_in(cluster.database) for _ in range(2))
    delays: list[float] = []
    async with aiohttp.ClientSession() as session:
        for round_, (writer, reader, at, seen_at) in enumerate([(first, second, 0, 1), (second, first, 2, 0)]):
            status, submitted = await rpc(session, cluster.node(at), "submit_race_time",
                                          {"race_time": 20 + round_, "idempotency_key": f"see-{round_}"},
                                          token=writer.token)
            assert status == 200, submitted
            written = time.monotonic()
            while await best_time_seen(session, cluster.node(seen_at), reader, writer, submitted["cycle"]) is None:
                assert time.monotonic() - written < 10, "never seen on the other node"
                await asyncio.sleep(0.02)
            delays.append(time.monotonic() - written)
    assert max(delays) < VISIBILITY_BOUND_SEC, delays


async def test_concurrent_resets_spread_across_nodes_finalize_and_pay_once(cluster: LocalCluster) -> None:
    players = [create_user_in(cluster.database, f"c{secrets.token_hex(3)}{i:02d}") for i in range(11)]
    cycle = await fill_cycle_on(cluster, players)
    await until_cycle_end(cycle, CYCLE, settle=0.1)  # racing the nodes' own reset hooks too
    async with aiohttp.ClientSession() as session:
        replies = await asyncio.gather(*(
            rpc(session, cluster.node(i % 3), "manual_reset_leaderboard", {"cycle": cycle}, http_key=HTTP_KEY)
            for i in range(10)))
    assert {status for status, _ in replies} == {200}, replies
    assert all(reply["finalized"] and [r["coins"] for r in reply["rewarded"]] == REWARDS for _, reply in replies)
    assert_paid_once(cluster.database, cycle, players)


async def fill_cycle_on(cluster: LocalCluster, players: list[TestUser]) -> int:
    """Early in one cycle every player submits through the balancer; player i finishes in i+1
    seconds (as tests/test_racing_finalize.py's fill_cycle, with this cluster's cycle length)."""
    cycle = await until_cycle_start(CYCLE, margin=0.1)
    async with aiohttp.ClientSession() as session:
        replies = await asyncio.gather(*(
            rpc(session, cluster.balancer, "submit_race_time",
                {"race_time": index + 1 + index / 1000, "idempotency_key": "f"}, token=player.token)
            for index, player in enumerate(players)))
    assert all(status == 200 and reply["cycle"] == cycle for status, reply in replies), replies
    return cycle


async def submit_load(cluster: LocalCluster, players: list[TestUser], stop: asyncio.Event,
                      acknowledged: list[tuple[str, str]]) -> int:
    """Players submit and read (the mix) through the balancer until stopped; each acknowledged
    submission (user, key) is kept. The number of failed requests (those in flight on the killed node)."""
    failures = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async def player_loop(player: TestUser) -> None:
            nonlocal failures
            count = 0
            while not stop.is_set():
                key = f"load-{count}"
                count += 1
                try:
                    status, _ = await rpc(session, cluster.balancer, "submit_race_time",
                                          {"race_time": 30 + count / 1000, "idempotency_key": key}, token=player.token)
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                if status == 200:
                    acknowledged.append((player.user_id, key))
                else:
                    failures += 1
                for _ in range(2):  # the mix: reads between submissions
                    try:
                        status, _ = await rpc(session, cluster.balancer, "get_leaderboard", {"limit": 100},
                                              token=player.token)
                    except (aiohttp.ClientError, TimeoutError):
                        status = 0
                    failures += status != 200

        await asyncio.gather(*(player_loop(p) for p in players))
    return failures


def node_alive(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthcheck", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def test_a_node_killed_during_load_loses_no_acknowledged_submission_and_rejoins(
        cluster: LocalCluster) -> None:
    players = [create_user_in(cluster.database) for _ in range(12)]
    stop = asyncio.Event()
    acknowledged: list[tuple[str, str]] = []
    load = asyncio.create_task(submit_load(cluster, players, stop, acknowledged))
    await asyncio.sleep(2.0)
    victim = cluster.state["node_pids"][1]
    os.killpg(victim, signal.SIGKILL)
    killed_at = len(acknowledged)
    await asyncio.sleep(3.0)
    stop.set()
    failures = await load
    assert len(acknowledged) > killed_at + 50  # the balancer routed around the dead node
    assert failures <= 64  # at most the requests in flight on it (a few per connection)
    with psycopg.connect(cluster.database) as conn:
        stored = set(conn.execute(
            "SELECT owner_id::text, idempotency_key FROM nakama_py_leaderboard_receipt"
            " WHERE owner_id = ANY(%s::uuid[])", ([p.user_id for p in players],)).fetchall())
    missing = [a for a in acknowledged if a not in stored]
    assert missing == [], f"{len(missing)} acknowledged submissions are not in the database"
    # The node comes back (same command) and serves again.
    cluster.state["node_pids"][1] = restart_node(cluster, 1)
    (cluster.directory / "cluster.json").write_text(json.dumps(cluster.state))
    deadline = time.monotonic() + 60
    while not node_alive(cluster.node(1)):
        assert time.monotonic() < deadline, "the restarted node did not come up"
        await asyncio.sleep(0.2)
    async with aiohttp.ClientSession() as session:
        status, submitted = await rpc(session, cluster.node(1), "submit_race_time",
                                      {"race_time": 12.5, "idempotency_key": "after-restart"}, token=players[0].token)
        assert status == 200
        # Read back on another node at once: the rejoined node's write is this player's standing there.
        status, board = await rpc(session, cluster.node(2), "get_leaderboard", {"limit": 1}, token=players[0].token)
    assert status == 200
    assert board["cycle"] != submitted["cycle"] or board["me"] == {"rank": submitted["rank"],
                                                                    "race_time_ms": submitted["best_time_ms"]}


def restart_node(cluster: LocalCluster, index: int) -> int:
    """Start the node again with its original command line (cluster.py's); its PID."""
    local = local_cluster()
    state = local.Cluster(**cluster.state)
    flags = [*racing_flags(cluster.directory.parent, cycle_seconds=CYCLE, submit_rate_per_minute=100000),
             "--logger.level", "warn", "--session.token_expiry_sec", "7200"]
    return int(local.start_node(state, index, 1, flags))


def restart_nats(cluster: LocalCluster) -> None:
    """Kill the cluster's NATS server and start it again on the same port and store."""
    local = local_cluster()
    os.killpg(cluster.state["nats_pid"], signal.SIGKILL)
    port = cluster.state["nats_port"]
    cluster.state["nats_pid"] = local.spawn(
        ["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(cluster.directory / "nats")],
        cluster.directory / "nats.log")
    (cluster.directory / "cluster.json").write_text(json.dumps(cluster.state))


async def test_a_nats_restart_mid_load_keeps_every_player_reading_their_own_standing(cluster: LocalCluster) -> None:
    players = [create_user_in(cluster.database) for _ in range(6)]
    stop = asyncio.Event()
    wrong: list[Any] = []
    failures = checked = 0

    async def player_loop(session: aiohttp.ClientSession, player: TestUser) -> None:
        nonlocal failures, checked
        step = 0
        while not stop.is_set():
            step += 1
            status, submitted = await rpc(session, cluster.balancer, "submit_race_time",
                                          {"race_time": 100 - step / 100, "idempotency_key": f"nats-{step}"},
                                          token=player.token)
            status_board, board = await rpc(session, cluster.balancer, "get_leaderboard", {"limit": 5},
                                            token=player.token)
            if status != 200 or status_board != 200:
                failures += 1
            elif submitted["cycle"] == board["cycle"]:
                checked += 1
                # Their own time at once; their rank may have moved since, as the others improve too.
                if board["me"] is None or board["me"]["race_time_ms"] != submitted["best_time_ms"]:
                    wrong.append((submitted, board["me"]))

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        load = asyncio.gather(*(player_loop(session, p) for p in players))
        await asyncio.sleep(1.5)
        await asyncio.to_thread(restart_nats, cluster)
        await asyncio.sleep(4.0)
        stop.set()
        await load
    assert failures == 0 and wrong == [] and checked > 30
    # After the restart the nodes hear each other again: another player's write shows within the bound.
    await test_players_on_different_nodes_see_each_other_within_the_bound(cluster)
