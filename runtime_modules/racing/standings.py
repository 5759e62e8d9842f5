"""``get_leaderboard``: the standings of the current cycle, or of a past one still kept.

This is the hot read path. It never costs a database round trip for the current cycle:
entries come from the server's in-memory rank structure (``nk.leaderboard_top``), which
every write updates, and the rendered entries are memoized for at most
``leaderboard_cache_ms``. A submission made on this server process that lands within the
memoized range drops the memo at once, and the caller's own standing (``me``) is read
fresh on every call (``nk.leaderboard_rank`` first makes sure this process has heard of the
caller's writes on sibling workers); when that standing is within the entries but the memo shows an
older time for the caller, the entries are rendered again. So a player always sees their
own latest submission.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from nakama_py.runtime import Code, Context, NakamaError, NakamaModule, RuntimeLogger

from .access import BOARD
from .cycles import Cycles
from .payloads import json_object, optional_int
from .settings import RacingSettings

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class _Rendered:
    built: float
    generation: int
    entries: str   # the JSON array text
    total: int
    times: dict[str, int]  # user id -> race time, of the entries


class Standings:
    def __init__(self, settings: RacingSettings, cycles: Cycles) -> None:
        self.settings = settings
        self.cycles = cycles
        self.max_age = settings.leaderboard_cache_ms / 1000
        self._memo: dict[tuple[int, int], _Rendered] = {}
        self._generation = 0

    def changed(self, rank: int) -> None:
        """A submission here reached ``rank``: memos covering it are stale."""
        if rank <= MAX_LIMIT:
            self._generation += 1

    async def top(self, nk: NakamaModule, cycle: int, limit: int) -> tuple[str, int]:
        """The rendered top ``limit`` entries (a JSON array) and the cycle's record count, from the
        same memo as ``get_leaderboard`` (at most ``leaderboard_cache_ms`` old)."""
        rendered = await self._render(nk, cycle, limit)
        return rendered.entries, rendered.total

    def checked_cycle(self, cycle: int | None, now: float) -> int:
        """The cycle asked for (None: the current one); a future or no longer kept cycle is refused."""
        current = self.cycles.of(now)
        if cycle is None:
            return current
        if cycle > current:
            raise NakamaError(f"cycle {cycle} has not started yet (the current cycle is {current})",
                              Code.INVALID_ARGUMENT)
        if self.cycles.end(cycle) <= now - self.settings.retention_seconds:
            raise NakamaError(f"cycle {cycle} is no longer kept", Code.NOT_FOUND)
        return cycle

    async def _render(self, nk: NakamaModule, cycle: int, limit: int, fresh: bool = False) -> _Rendered:
        key = (cycle, limit)
        now = time.monotonic()
        memo = self._memo.get(key)
        if (not fresh and memo is not None and now - memo.built < self.max_age
                and memo.generation == self._generation):
            return memo
        top = await nk.leaderboard_top(BOARD, limit, self.cycles.end(cycle))  # a past cycle: read on first use
        entries = json.dumps([{"rank": e.rank, "user_id": e.owner_id, "username": e.username or "",
                               "race_time_ms": e.score} for e in top.entries], separators=(",", ":"))
        rendered = _Rendered(now, self._generation, entries, top.total, {e.owner_id: e.score for e in top.entries})
        if len(self._memo) > 256:
            self._memo.clear()
        self._memo[key] = rendered
        return rendered

    async def get_leaderboard(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
        body = json_object(payload)
        limit = optional_int(body, "limit", low=1, high=MAX_LIMIT) or DEFAULT_LIMIT
        cycle = self.checked_cycle(optional_int(body, "cycle", low=0), time.time())
        rendered = await self._render(nk, cycle, limit)
        me = "null"
        if ctx.user_id:
            entry = await nk.leaderboard_rank(BOARD, ctx.user_id, self.cycles.end(cycle))
            if entry is not None:
                if entry.rank <= limit and rendered.times.get(ctx.user_id) != entry.score:
                    rendered = await self._render(nk, cycle, limit, fresh=True)
                me = f'{{"rank":{entry.rank},"race_time_ms":{entry.score}}}'
        return (f'{{"cycle":{cycle},"ends_at":"{self.cycles.ends_at(cycle)}","entries":{rendered.entries},'
                f'"total":{rendered.total},"me":{me}}}')
