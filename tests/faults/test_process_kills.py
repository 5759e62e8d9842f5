"""kill -9 under racing load: of one worker process and of the whole server, mid-submit and
mid-finalization. Afterwards the database holds every acknowledged submission exactly once, every
finalized cycle paid each winner exactly once, and nothing half-written."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time
from pathlib import Path

import psycopg

from tests.faults.checks import check
from tests.faults.load import RACING_ENV, Observed, RacingLoad, finalize, make_players
from tests.faults.processes import kill_all, process_waiting_on_lock, workers
from tests.support.racing import racing_flags, until_cycle_end
from tests.support.server import ServerProcess, start_server

CYCLE = 6  # seconds: several cycles end, and are finalized by the reset hook, within a test
PLAYERS = 40


def start_racing(tmp: Path, db: str, name: str, *flags: str, port: int | None = None) -> ServerProcess:
    return start_server(tmp / name, db, *flags, *racing_flags(tmp, cycle_seconds=CYCLE, **RACING_ENV), port=port)


def payouts(db: str, cycle: int) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM wallet_ledger WHERE metadata->>'reason' = 'racing_reward'"
                           " AND (metadata->>'cycle')::bigint = %s", (cycle,)).fetchone()
    return int(row[0]) if row else 0


def hold_winners(db: str, cycle: int, ranks: range) -> psycopg.Connection:
    """Locks the user rows of the cycle's winners at ``ranks`` (1-based): their payments wait, the
    others go through, and the finalization stops midway. The connection holding the locks."""
    conn = psycopg.connect(db)
    ids = [row[0] for row in conn.execute(
        "SELECT owner_id FROM leaderboard_record WHERE leaderboard_id = 'race_times'"
        " AND expiry_time = to_timestamp(%s) ORDER BY score, subscore, update_time LIMIT 10",
        ((cycle + 1) * CYCLE,))]
    held = ids[ranks.start - 1:ranks.stop - 1]
    assert held, f"cycle {cycle} has no winners to hold"
    conn.execute("SELECT 1 FROM users WHERE id = ANY(%s) FOR UPDATE", (held,))
    return conn


async def stall_finalization(db: str, cycle: int) -> tuple[psycopg.Connection, float]:
    """At the end of ``cycle``, holds winners 5-10 so the reset hook's finalization pays ranks 1-4 and
    then waits; returns once it does (the lock holder, and when it was seen stuck)."""
    await until_cycle_end(cycle, CYCLE, settle=0.3)  # the hook starts after its 1 s settle time
    conn = hold_winners(db, cycle, range(5, 11))
    deadline = time.monotonic() + 20
    while payouts(db, cycle) < 4 or process_waiting_on_lock(db) is None:
        assert time.monotonic() < deadline, f"the finalization of cycle {cycle} did not start"
        await asyncio.sleep(0.05)
    return conn, time.monotonic()


def ended_cycles(observed: Observed) -> set[int]:
    now_cycle = math.floor(time.time() / CYCLE)
    return {ack.cycle for ack in observed.acked if ack.cycle < now_cycle}


async def finish_and_check(db: str, base: str, observed: Observed, scenario: str, **figures: object) -> None:
    await asyncio.sleep(max(0.0, (math.floor(time.time() / CYCLE) + 1) * CYCLE + 1.5 - time.time()))
    for cycle in sorted(ended_cycles(observed)):
        await finalize(base, cycle, observed)  # the external scheduler's call; a no-op for finished cycles
    verdict = check(db, observed, CYCLE)
    print(verdict.line(scenario, outcomes=dict(observed.outcomes), **figures))
    assert verdict.acknowledged > 100, observed.outcomes
    assert verdict.finalized_cycles >= 2
    assert verdict.clean, verdict


async def test_a_worker_killed_mid_submit_and_mid_finalization(tmp_path: Path, own_database: str) -> None:
    server = start_racing(tmp_path, own_database, "server", "--socket.workers", "2")
    players = make_players(own_database, PLAYERS, "w")
    try:
        async with RacingLoad(lambda: server.url, players) as load:
            await asyncio.sleep(2)
            # Mid-submit: submissions are in flight on both workers all the time.
            victim = (await workers(server, 2))[0]
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()
            await workers(server, 2, without=victim)  # the supervisor started another
            await asyncio.sleep(1)
            submit_recovery = (load.observed.first_ok_after(killed, "submit") or math.inf) - killed

            # Mid-finalization: kill the worker whose finalization is stuck halfway through the payouts.
            cycle = math.floor(time.time() / CYCLE)
            holder, _ = await stall_finalization(own_database, cycle)
            finalizing = process_waiting_on_lock(own_database)
            assert finalizing is not None and finalizing in await workers(server, 2)
            os.kill(finalizing, signal.SIGKILL)
            holder.close()  # the locks go; the claim of the dead worker's reset is left to expire
            await workers(server, 2, without=finalizing)
            await asyncio.sleep(3)
        await finish_and_check(own_database, server.url, load.observed, "worker kill -9",
                               submit_recovery_s=round(submit_recovery, 2))
        assert payouts(own_database, cycle) == 10
    finally:
        server.stop()


async def test_the_whole_server_killed_mid_submit_and_mid_finalization(tmp_path: Path, own_database: str) -> None:
    current: list[ServerProcess] = [start_racing(tmp_path, own_database, "first", "--socket.workers", "2")]
    players = make_players(own_database, PLAYERS, "s")
    try:
        async with RacingLoad(lambda: current[-1].url, players) as load:
            await asyncio.sleep(2)
            cycle = math.floor(time.time() / CYCLE)
            holder, _ = await stall_finalization(own_database, cycle)
            kill_all(current[-1])  # mid-submit (the load never stops) and mid-finalization at once
            holder.close()
            killed = time.monotonic()
            current.append(start_racing(tmp_path, own_database, "second", "--socket.workers", "2",
                                        port=current[-1].port))
            await asyncio.sleep(2)
            recovery = (load.observed.first_ok_after(killed, "submit") or math.inf) - killed
        await finish_and_check(own_database, current[-1].url, load.observed, "server kill -9",
                               recovery_s=round(recovery, 2))
        assert payouts(own_database, cycle) == 10
    finally:
        for server in current:
            server.stop()
