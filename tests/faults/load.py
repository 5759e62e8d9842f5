"""The client side of a fault scenario: racing traffic that records what the server acknowledged.

Players submit race times with fresh idempotency keys and read the leaderboard, in a closed loop
of bounded concurrency, against whichever server ``base()`` names at the moment (a restarted
server may come back on another port). Every 200 of ``submit_race_time`` is an acknowledged
submission; every ``rewarded`` list of ``manual_reset_leaderboard`` is a payout the client saw.
Connection errors and refusals are counted, never retried: an unacknowledged write may or may not
be stored, and the checks only hold the server to what it acknowledged.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.support.racing import HTTP_KEY, rpc
from tests.support.users import TestUser, create_user_in

RACING_ENV = {"submit_rate_per_minute": 1_000_000}  # the load is many submissions per player


@dataclass(frozen=True)
class Ack:
    user_id: str
    key: str
    race_time_ms: int
    cycle: int


@dataclass
class Observed:
    """What the clients saw."""

    acked: list[Ack] = field(default_factory=list)
    payouts: dict[int, list[tuple[str, int]]] = field(default_factory=dict)  # cycle -> (user_id, coins)
    outcomes: Counter[str] = field(default_factory=Counter)  # "submit 200", "get 503", "submit error" ...
    messages: Counter[str] = field(default_factory=Counter)  # "503 Database unavailable." ...
    # (monotonic time answered, kind, ok, seconds taken) of each call, for recovery times and hangs
    timeline: list[tuple[float, str, bool, float]] = field(default_factory=list)

    def record(self, kind: str, status: int | str, started: float, reply: Any = None) -> None:
        now = time.monotonic()
        self.outcomes[f"{kind} {status}"] += 1
        self.timeline.append((now, kind, status == 200, now - started))
        if status != 200:
            message = reply.get("message", "") if isinstance(reply, dict) else ""
            self.messages[f"{status} {message}"] += 1

    def slowest(self, start: float = 0.0, end: float = math.inf) -> float:
        return max((took for at, _, _, took in self.timeline if start <= at <= end), default=0.0)

    def statuses_between(self, start: float, end: float) -> Counter[str]:
        return Counter(f"{what} {'ok' if ok else 'failed'}" for at, what, ok, _ in self.timeline if start <= at <= end)

    def first_ok_after(self, moment: float, kind: str | None = None) -> float | None:
        for at, what, ok, _ in self.timeline:
            if at >= moment and ok and (kind is None or what == kind):
                return at
        return None


def make_players(database_url: str, count: int, prefix: str) -> list[TestUser]:
    return [create_user_in(database_url, f"{prefix}{index:03d}") for index in range(count)]


class RacingLoad:
    def __init__(self, base: Callable[[], str], players: list[TestUser], *, concurrency: int = 16,
                 read_share: float = 0.7, pause_s: float = 0.005, timeout_s: float = 10.0) -> None:
        self.base = base
        self.players = players
        self.concurrency = concurrency
        self.read_share = read_share
        self.pause_s = pause_s
        self.timeout_s = timeout_s
        self.observed = Observed()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._keys = itertools.count()
        self._random = random.Random(17)

    async def __aenter__(self) -> RacingLoad:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        self._tasks = [asyncio.create_task(self._client(index)) for index in range(self.concurrency)]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._session.close()

    async def _client(self, index: int) -> None:
        players = self.players[index::self.concurrency] or self.players
        for turn in itertools.count():
            if self._stop.is_set():
                return
            player = players[turn % len(players)]
            if self._random.random() < self.read_share:
                await self._read(player)
            else:
                await self._submit(player)
            await asyncio.sleep(self.pause_s)

    async def _submit(self, player: TestUser) -> None:
        key = f"k{next(self._keys)}"
        race_time = round(self._random.uniform(1, 300), 3)
        started = time.monotonic()
        try:
            status, reply = await rpc(self._session, self.base(), "submit_race_time",
                                      {"race_time": race_time, "idempotency_key": key}, token=player.token)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
            self.observed.record("submit", "error", started)
            return
        if status == 200:
            self.observed.acked.append(Ack(player.user_id, key, reply["race_time_ms"], reply["cycle"]))
        self.observed.record("submit", status, started, reply)

    async def _read(self, player: TestUser) -> None:
        started = time.monotonic()
        try:
            status, reply = await rpc(self._session, self.base(), "get_leaderboard", {"limit": 10},
                                      token=player.token)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
            self.observed.record("get", "error", started)
            return
        self.observed.record("get", status, started, reply)


async def finalize(base: str, cycle: int, observed: Observed, *, attempts: int = 60) -> dict[str, Any]:
    """``manual_reset_leaderboard`` for a cycle as the external scheduler calls it: retried until it
    answers 200 (the server may still be coming back). The payouts it reports are recorded."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        for _ in range(attempts):
            try:
                status, reply = await rpc(session, base, "manual_reset_leaderboard", {"cycle": cycle},
                                          http_key=HTTP_KEY)
            except (aiohttp.ClientError, TimeoutError):
                status, reply = 0, None
            if status == 200:
                observed.payouts.setdefault(cycle, []).extend(
                    (entry["user_id"], entry["coins"]) for entry in reply["rewarded"])
                return dict(reply)
            await asyncio.sleep(0.5)
    raise AssertionError(f"manual_reset_leaderboard for cycle {cycle} never succeeded")
