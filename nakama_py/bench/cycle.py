"""The racing module as the bench sees it over HTTP: which cycle is current and how full it
is, filling it with records before timing, and the http-key RPCs that finalize a cycle.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nakama_py.bench.http1 import build_request, rpc_body, rpc_path
from nakama_py.bench.pool import HttpPool, Response
from nakama_py.bench.traffic import race_time, submit_payload
from nakama_py.bench.users import SETUP_CONCURRENCY, SetupError, UserSession, run_all

FILL_ATTEMPTS = 4
# How long the count must stand still before the bench believes it. It must outlast both bounds on what a
# reader sees: other server processes learn of a write within ranks.VISIBILITY_BOUND_SEC (1 s), and the
# racing module's get_leaderboard memoizes its reply on each process for racing_leaderboard_cache_ms (up to
# 2 s in our tests; a memo built on the other process just before the last writes showed a stale count for
# the whole of a 2 s window once). Only a count still short of the target waits this long.
SETTLE_S = 5.0
CYCLE_WAIT_SLACK_S = 0.5  # after a cycle's end, so the server has surely moved on


@dataclass(frozen=True)
class CycleState:
    cycle: int
    ends_at: float  # unix seconds
    total: int  # records in the cycle

    @property
    def seconds(self) -> float:
        """Cycle length: cycle n ends at (n + 1) * length."""
        return self.ends_at / (self.cycle + 1)

    @property
    def remaining(self) -> float:
        return self.ends_at - time.time()


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def call_rpc(pool: HttpPool, rpc: str, payload: Any, *, token: str | None = None,
                   http_key: str | None = None) -> Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = build_request("POST", rpc_path(rpc, http_key), pool.target.host_header, headers, rpc_body(payload))
    return await pool.request(request)


async def read_cycle(pool: HttpPool, session: UserSession) -> CycleState:
    response = await call_rpc(pool, "get_leaderboard", {"limit": 1}, token=session.token)
    if response.status != 200:
        raise SetupError(f"get_leaderboard answered {response.describe()}")
    try:
        data = response.rpc_payload()
        return CycleState(int(data["cycle"]), parse_time(str(data["ends_at"])), int(data["total"]))
    except (KeyError, TypeError, ValueError):
        raise SetupError(f"get_leaderboard reply lacks cycle, ends_at or total: {response.describe()}") from None


async def read_settled(pool: HttpPool, session: UserSession, records: int) -> CycleState:
    """The cycle once it shows ``records`` records, or as it stands once it has not grown for ``SETTLE_S``:
    with several server processes the one answering may learn of the last writes a moment later, and a
    server applying submissions from a stream (``racing_submit_mode=stream``) shows them as it applies them.
    """
    deadline = time.monotonic() + SETTLE_S
    seen = -1
    while True:
        state = await read_cycle(pool, session)
        if state.total >= records or time.monotonic() >= deadline:
            return state
        if state.total > seen:  # still being applied: wait on
            seen = state.total
            deadline = time.monotonic() + SETTLE_S
        await asyncio.sleep(0.05)


async def submit_once_each(pool: HttpPool, sessions: Sequence[UserSession], key_prefix: str) -> dict[int, int]:
    """One submission per user; the answers' statuses counted."""
    rng = random.Random()
    statuses: dict[int, int] = {}

    async def one(indexed: tuple[int, UserSession]) -> None:
        index, session = indexed
        payload = submit_payload(race_time(rng), f"{key_prefix}-{index}")
        response = await call_rpc(pool, "submit_race_time", payload, token=session.token)
        statuses[response.status] = statuses.get(response.status, 0) + 1

    await run_all(list(enumerate(sessions)), one, SETUP_CONCURRENCY)
    return statuses


async def fill_cycle(pool: HttpPool, sessions: Sequence[UserSession], records: int, *, must_last_s: float,
                     key_prefix: str, log: Callable[[str], None]) -> CycleState:
    """A current cycle holding at least ``records`` records that lasts ``must_last_s`` more seconds.

    Each of the first ``records`` users submits once. When the cycle would end too soon, or
    turns while filling, the next cycle is filled instead.
    """
    if len(sessions) < records:
        raise SetupError(f"{records} records need {records} users, only {len(sessions)} signed in")
    for attempt in range(FILL_ATTEMPTS):
        state = await read_cycle(pool, sessions[0])
        if state.seconds <= must_last_s:
            raise SetupError(f"cycles last {state.seconds:.0f}s, shorter than the {must_last_s:.0f}s this run needs "
                             "inside one cycle: shorten --warmup/--duration or lengthen racing_cycle_seconds")
        if state.remaining < must_last_s:
            log(f"cycle {state.cycle} ends in {state.remaining:.0f}s, before the run would: waiting for the next one")
            await asyncio.sleep(state.remaining + CYCLE_WAIT_SLACK_S)
            continue
        if state.total >= records:
            return state
        log(f"filling cycle {state.cycle} (now {state.total} records) with {records} submissions")
        started = time.monotonic()
        statuses = await submit_once_each(pool, sessions[:records], f"{key_prefix}-fill{attempt}")
        after = await read_settled(pool, sessions[0], records)
        log(f"filled cycle {after.cycle} to {after.total} records in {time.monotonic() - started:.1f}s")
        if after.cycle != state.cycle:
            continue  # the cycle turned while filling: fill the new one
        if after.total < records:
            raise SetupError(f"cycle {after.cycle} holds {after.total} records after the prefill, not {records}; "
                             f"submissions answered {dict(sorted(statuses.items()))}"
                             + (" (429: the submit rate limit; wait a minute or use another --user-prefix)"
                                if 429 in statuses else ""))
        if after.remaining >= must_last_s:
            return after
    raise SetupError(f"could not fill a cycle that lasts {must_last_s:.0f}s more in {FILL_ATTEMPTS} attempts")


@dataclass(frozen=True)
class FinalizeCall:
    status: int
    reply: dict[str, Any]
    started_ns: int  # monotonic
    ended_ns: int
    error: str = ""

    @property
    def call_ms(self) -> float:
        return (self.ended_ns - self.started_ns) / 1e6


async def finalize(pool: HttpPool, cycle: int, retry_for_s: float = 10.0) -> FinalizeCall:
    """``manual_reset_leaderboard`` for ``cycle`` with the http key. A 400 "not ended yet"
    (the server's clock slightly behind ours) is retried until ``retry_for_s`` passes."""
    deadline = time.monotonic() + retry_for_s
    while True:
        started = time.monotonic_ns()
        response = await call_rpc(pool, "manual_reset_leaderboard", {"cycle": cycle}, http_key=pool.target.http_key)
        ended = time.monotonic_ns()
        if response.status == 200:
            reply = response.rpc_payload()
            return FinalizeCall(200, reply if isinstance(reply, dict) else {}, started, ended)
        if response.status == 400 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            continue
        return FinalizeCall(response.status, {}, started, ended, response.describe())


async def system_metrics(pool: HttpPool) -> dict[str, Any] | None:
    response = await call_rpc(pool, "system_metrics", {}, http_key=pool.target.http_key)
    if response.status != 200:
        return None
    data = response.rpc_payload()
    return data if isinstance(data, dict) else None
