"""A region served by another cluster (its own database): reached through that cluster's
``racing_region_standings`` RPC with its http_key (region_service.py), never through its database.

What is cached here, per server process: a region's top (100 entries, or more when asked) and
count per cycle for ``leaderboard_cache_ms`` (5 minutes when fetched after the cycle ended and
settled: its standings no longer change; a value fetched before is never served after, so
finalization reads the final standings), and each rank probe for as long. Probes asked at the same
moment by many readers go out as one request (up to 100 per request). When the other cluster cannot
be reached, a top and count up to ``STALE_IF_ERROR_SECONDS`` old are served instead (never a
pre-final one for an ended cycle); past that, and for probes, the read fails with code 14 (HTTP 503)
naming the region.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from typing import Any

from nakama_py.runtime import Code, NakamaError, NakamaModule

from .cycles import Cycles
from .region_service import MAX_PROBES, RPC
from .regions import Standing

FETCH_AT_LEAST = 100
FINISHED_TTL_SECONDS = 300.0
STALE_IF_ERROR_SECONDS = 60.0
SETTLE_SECONDS = 2.0    # late writes of an ended cycle (finalization.SETTLE_SECONDS) plus the rank sync's bound
TIMEOUT_MS = 3000
MAX_CACHED = 10_000

Probe = tuple[int, int, int, str]  # cycle, score, subscore, user id


class RemoteRegion:
    def __init__(self, nk: NakamaModule, name: str, url: str, http_key: str, cycles: Cycles,
                 max_age: float) -> None:
        self._nk = nk
        self._name = name
        self._url = f"{url}/v2/rpc/{RPC}?unwrap=true&http_key={http_key}"
        self._cycles = cycles
        self._max_age = max_age
        self._tops: dict[int, tuple[float, list[Standing], int]] = {}  # cycle -> (fetched, entries, total)
        self._top_calls: dict[tuple[int, int], asyncio.Future[tuple[list[Standing], int]]] = {}
        self._probes: dict[Probe, tuple[float, int]] = {}
        self._pending: dict[Probe, asyncio.Future[int]] = {}
        self._flush: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self._name

    def _fresh(self, cycle: int, fetched: float) -> bool:
        """Whether a value fetched at ``fetched`` (unix seconds) may still be served: for
        ``leaderboard_cache_ms``, or, once fetched after the cycle settled (final), for 5 minutes; a value
        fetched before the cycle settled is never served after (finalization needs the final standings)."""
        settled = self._cycles.end(cycle) + SETTLE_SECONDS
        now = time.time()
        if fetched >= settled:
            return now - fetched < FINISHED_TTL_SECONDS
        return now < settled and now - fetched < self._max_age

    async def _ask(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._nk.http_request(self._url, "POST", {"Content-Type": "application/json"},
                                                   json.dumps({"region": self._name, **body}), TIMEOUT_MS)
        except NakamaError as exc:
            raise NakamaError(f"region {self._name}: its cluster cannot be reached ({exc.message})",
                              Code.UNAVAILABLE) from None
        if response.status != 200:
            raise NakamaError(f"region {self._name}: its cluster answered {response.status} "
                              f"{response.body[:200]}", Code.UNAVAILABLE)
        try:
            reply = json.loads(response.body)
        except ValueError:
            reply = None
        if not isinstance(reply, dict) or not isinstance(reply.get("entries"), list):
            raise NakamaError(f"region {self._name}: its cluster's reply is not region standings", Code.UNAVAILABLE)
        return reply

    # --- top and count -------------------------------------------------------------------

    async def _top(self, cycle: int, n: int) -> tuple[list[Standing], int]:
        cached = self._tops.get(cycle)
        now = time.time()
        if cached is not None and self._fresh(cycle, cached[0]) and (len(cached[1]) >= n
                                                                     or len(cached[1]) == cached[2]):
            return cached[1], cached[2]
        limit = max(n, FETCH_AT_LEAST, len(cached[1]) if cached else 0)
        key = (cycle, limit)
        running = self._top_calls.get(key)
        if running is None:
            running = asyncio.get_running_loop().create_future()
            self._top_calls[key] = running
            try:
                reply = await self._ask({"cycle": cycle, "limit": limit})
                entries = [Standing(rank, e[0], e[1], e[2], e[3])
                           for rank, e in enumerate(reply["entries"], start=1)]
                if len(self._tops) > 64:
                    self._tops.clear()
                self._tops[cycle] = (now, entries, int(reply["total"]))
                running.set_result((entries, int(reply["total"])))
            except Exception as exc:  # every waiter must be answered
                if not isinstance(exc, NakamaError):
                    exc = NakamaError(f"region {self._name}: {type(exc).__name__} {exc}", Code.UNAVAILABLE)
                settled = self._cycles.end(cycle) + SETTLE_SECONDS
                if (cached is not None and now - cached[0] < STALE_IF_ERROR_SECONDS
                        and (cached[0] >= settled or now < settled)):  # never a pre-final value for an ended cycle
                    running.set_result((cached[1], cached[2]))
                else:
                    running.set_exception(exc)
            finally:
                del self._top_calls[key]
        return await asyncio.shield(running)

    async def top(self, cycle: int, n: int) -> list[Standing]:
        entries, _ = await self._top(cycle, n)
        return entries[:n]

    async def count(self, cycle: int) -> int:
        _, total = await self._top(cycle, 0)
        return total

    async def rank_of(self, cycle: int, user_id: str) -> Standing | None:
        return None  # a player of this cluster never races in a region another cluster serves

    # --- rank probes, batched ---------------------------------------------------------------

    async def better_than(self, cycle: int, score: int, subscore: int, user_id: str) -> int:
        probe = (cycle, score, subscore, user_id)
        cached = self._probes.get(probe)
        if cached is not None and self._fresh(cycle, cached[0]):
            return cached[1]
        pending = self._pending.get(probe)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._pending[probe] = pending
            if self._flush is None:
                # Not in the caller's call scope: the batch serves every reader of the moment.
                self._flush = asyncio.create_task(self._send_probes(), context=contextvars.Context())
        return await asyncio.shield(pending)

    async def _send_probes(self) -> None:
        await asyncio.sleep(0)  # let the readers of this moment add theirs
        try:
            while self._pending:
                batch = dict(list(self._pending.items())[:MAX_PROBES])
                for probe in batch:
                    del self._pending[probe]
                by_cycle: dict[int, list[Probe]] = {}
                for probe in batch:
                    by_cycle.setdefault(probe[0], []).append(probe)
                for cycle, probes in by_cycle.items():
                    asked = time.time()
                    try:
                        reply = await self._ask({"cycle": cycle, "limit": 0,
                                                 "probes": [[p[1], p[2], p[3]] for p in probes]})
                        counts = [int(ahead) for ahead in reply["better_than"]]
                        if len(counts) != len(probes):
                            raise ValueError("one count per probe expected")
                    except Exception as exc:  # every waiter must be answered
                        if not isinstance(exc, NakamaError):
                            exc = NakamaError(f"region {self._name}: {type(exc).__name__} {exc}", Code.UNAVAILABLE)
                        for probe in probes:
                            batch[probe].set_exception(exc)
                        continue
                    if len(self._probes) > MAX_CACHED:
                        self._probes.clear()
                    for probe, ahead in zip(probes, counts, strict=True):
                        self._probes[probe] = (asked, ahead)
                        batch[probe].set_result(ahead)
        finally:
            self._flush = None
