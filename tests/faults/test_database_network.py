"""The network to the database made slow, then lossy, then cut, under racing load (the database in a network
namespace behind a veth pair the test throttles, drops packets on and takes down): requests end within the deadline
(504 DEADLINE_EXCEEDED or 503, never a 500 or a hang), waiting work stays bounded, the leaderboard is
served from memory, and the server recovers on its own once the link heals."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from tests.faults.checks import check
from tests.faults.load import RACING_ENV, RacingLoad, make_players
from tests.faults.network import RemotePostgres
from tests.support.racing import racing_flags, rpc
from tests.support.server import start_server

CYCLE = 86400
DEADLINE_MS = 2000  # socket.request_timeout_ms for this server
CUT_S = 8.0
LOSS_PERCENT = 10  # of the packets each way: TCP's retransmissions (200 ms and up) slow a share of the queries
RECOVERY_BOUND_S = 15.0  # a dead connection is found by tcp_user_timeout/keepalives (db/address.py) within ~11 s
# A slow link slows the requests it serves: the in-flight bound adapts down and sheds the excess.
ALLOWED_FAILURES = {"504 Request deadline exceeded.", "503 Database unavailable.",
                    "503 Server is overloaded, retry later."}


async def accepted_again(base: str, token: str, bound_s: float) -> float:
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        attempt = 0
        while time.monotonic() - started < bound_s:
            attempt += 1
            status, _ = await rpc(session, base, "submit_race_time",
                                  {"race_time": 100, "idempotency_key": f"heal{attempt}"}, token=token)
            if status == 200:
                return time.monotonic() - started
            await asyncio.sleep(0.1)
    raise AssertionError(f"no submission accepted within {bound_s}s of the link healing")


async def test_a_slow_then_cut_database_link(tmp_path: Path, postgres_over_link: RemotePostgres) -> None:
    remote, link = postgres_over_link, postgres_over_link.link
    server = start_server(tmp_path, remote.url, "--socket.request_timeout_ms", str(DEADLINE_MS),
                          *racing_flags(tmp_path, cycle_seconds=CYCLE, **RACING_ENV))
    players = make_players(remote.url, 20, "n")
    try:
        async with RacingLoad(lambda: server.url, players, concurrency=16) as load:
            await asyncio.sleep(2)
            link.slow("64kbit")
            slowed = time.monotonic()
            await asyncio.sleep(6)
            link.fast()
            fast_again = time.monotonic()
            await asyncio.sleep(2)
            link.lossy(LOSS_PERCENT)
            lossy = time.monotonic()
            await asyncio.sleep(6)
            link.lossless()
            lossless = time.monotonic()
            await asyncio.sleep(2)
            link.cut()
            cut = time.monotonic()
            await asyncio.sleep(CUT_S)
            link.heal()
            healed = time.monotonic()
            recovery = await accepted_again(server.url, players[0].token, RECOVERY_BOUND_S)
            await asyncio.sleep(1)
        observed = load.observed
        while_slow = observed.statuses_between(slowed, fast_again)
        while_lossy = observed.statuses_between(lossy, lossless)
        while_cut = observed.statuses_between(cut + DEADLINE_MS / 1000, healed)
        verdict = check(remote.url, observed, CYCLE)
        print(verdict.line(f"database link slow (htb 64kbit), {LOSS_PERCENT}% loss, then cut 8 s",
                           outcomes=dict(observed.outcomes), failures=dict(observed.messages),
                           while_slow=dict(while_slow), while_lossy=dict(while_lossy), while_cut=dict(while_cut),
                           recovery_s=round(recovery, 2), slowest_call_s=round(observed.slowest(), 2)))
    finally:
        server.stop()
    assert set(observed.messages) <= ALLOWED_FAILURES, observed.messages
    assert observed.slowest() < DEADLINE_MS / 1000 + 1.0  # the deadline holds: no request waits longer
    assert while_slow["submit failed"] + while_slow["submit ok"] > 0
    # A lossy link is slower, not down: submissions keep being acknowledged (and counted below).
    assert while_lossy["submit ok"] > 0 and while_lossy["get ok"] > 0, while_lossy
    assert while_cut["get ok"] > 0 and while_cut["submit ok"] == 0  # reads from memory, writes refused
    assert verdict.clean, verdict
