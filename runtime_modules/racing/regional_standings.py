"""``get_leaderboard`` with regions (racing_regions set): one region's standings or the global ones.

Payload: ``{"limit", "cycle"}`` as without regions, plus ``"region": "<name>"`` for that region's board,
or ``"scope": "global"`` (also what neither gives) for the merge of every region (regions.py).
Replies are those of the single board plus:
  region:  ``"region": name``; ``me`` only when the caller races there.
  global:  ``"scope": "global"``; each entry's ``"region"``; ``"regions": {name: records}``;
           ``total`` the sum; ``me``: ``{"rank", "race_time_ms", "region", "region_rank"}``.

Freshness, as the single board's (standings.py): local regions are read from this process's rank
memory (kept current by the rank sync); a remote region's top and count are cached for
``leaderboard_cache_ms`` (remote_region.py). Each rendered view (global, or one region's) is memoized
here for at most ``leaderboard_cache_ms`` and dropped when a submission on this process reaches the ranks
it shows; ``me`` is computed on every call from the rank memory, and when the caller's own time is not
what the memo shows, the view is rendered again: a player always sees their own latest submission.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from nakama_py.runtime import Context, NakamaModule, RuntimeLogger

from .cycles import Cycles
from .payloads import invalid, json_object, optional_int
from .region_settings import RegionSettings
from .regions import RegionStandings, Standing, global_rank, global_top
from .settings import RacingSettings
from .standings import DEFAULT_LIMIT, MAX_LIMIT, Standings

MAX_MEMOS = 256


def _entry(standing: Standing, rank: int, region: str | None = None) -> dict[str, object]:
    entry: dict[str, object] = {"rank": rank, "user_id": standing.user_id, "username": standing.username,
                                "race_time_ms": standing.race_time_ms}
    if region is not None:
        entry["region"] = region
    return entry


@dataclass(frozen=True)
class _View:
    built: float
    generation: int
    text: str               # the reply's JSON object without ``me`` and its closing brace
    times: dict[str, int]   # user id -> race time, of the entries


class RegionalStandings:
    def __init__(self, settings: RacingSettings, cycles: Cycles, regions: Sequence[RegionStandings],
                 region_settings: RegionSettings, standings: Standings) -> None:
        self.settings = settings
        self.standings = standings  # the single board's view: its cycle rules are the same
        self.cycles = cycles
        self.regions = list(regions)
        self.by_name = {r.name: r for r in regions}
        self.local = [r for r in regions if r.name not in region_settings.remote]
        self.max_age = settings.leaderboard_cache_ms / 1000
        self._memo: dict[tuple[int, int, str], _View] = {}  # (cycle, limit, region or "") -> the view
        self._generation = 0

    def changed(self, board: str, rank: int) -> None:
        """A submission on this process reached ``rank`` of a region: merged tops that may show it are stale."""
        if rank <= MAX_LIMIT:
            self._generation += 1

    async def _view(self, cycle: int, limit: int, name: str | None, fresh: bool = False) -> _View:
        """The standings without ``me``, memoized (module docstring)."""
        key = (cycle, limit, name or "")
        memo = self._memo.get(key)
        now = time.monotonic()
        if (not fresh and memo is not None and now - memo.built < self.max_age
                and memo.generation == self._generation):
            return memo
        generation = self._generation
        body: dict[str, object]
        if name is not None:
            region = self.region(name)
            top = await region.top(cycle, limit)
            body = {"region": region.name, "cycle": cycle, "ends_at": self.cycles.ends_at(cycle),
                    "entries": [_entry(s, s.rank) for s in top], "total": await region.count(cycle)}
            times = {s.user_id: s.race_time_ms for s in top}
        else:
            merged, counts = await global_top(self.regions, cycle, limit)
            body = {"scope": "global", "cycle": cycle, "ends_at": self.cycles.ends_at(cycle),
                    "entries": [_entry(g.standing, g.rank, g.region) for g in merged],
                    "total": sum(counts.values()), "regions": counts}
            times = {g.standing.user_id: g.standing.race_time_ms for g in merged}
        view = _View(now, generation, json.dumps(body, separators=(",", ":"))[:-1], times)
        if len(self._memo) >= MAX_MEMOS:
            self._memo.clear()
        self._memo[key] = view
        return view

    async def _home(self, cycle: int, user_id: str) -> RegionStandings | None:
        """The region holding the player's record of the cycle: a rank-memory lookup per local region
        (with read-your-writes across this server's workers), no database read."""
        for region in self.local:
            if await region.rank_of(cycle, user_id) is not None:
                return region
        return None

    def region(self, name: object) -> RegionStandings:
        region = self.by_name.get(name) if isinstance(name, str) else None
        if region is None:
            raise invalid(f"unknown region {name!r}: one of {', '.join(self.by_name)}")
        return region

    async def public(self, cycle: int, limit: int, name: str | None) -> str:
        """What ``GET /racing/standings`` shows (public_standings.py): the global standings, or with
        ``?region=`` one region's, without anything player-specific (JSON text)."""
        return (await self._view(cycle, limit, name)).text + "}"

    async def get_leaderboard(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
        body = json_object(payload)
        limit = optional_int(body, "limit", low=1, high=MAX_LIMIT) or DEFAULT_LIMIT
        name, scope = body.get("region"), body.get("scope")
        if scope is not None and scope != "global":
            raise invalid('scope must be "global" (or give "region" for one region\'s standings)')
        if name is not None and scope is not None:
            raise invalid('give either "region" or "scope": "global", not both')
        cycle = self.standings.checked_cycle(optional_int(body, "cycle", low=0), time.time())
        if name is not None:
            self.region(name)  # an unknown one is refused before anything else
        view = await self._view(cycle, limit, name)
        me: dict[str, object] | None = None
        rank, race_time = 0, 0
        if ctx.user_id and name is not None:
            # A local region reads the rank memory (fresh); the caller never races in a remote one.
            mine = await self.region(name).rank_of(cycle, ctx.user_id)
            if mine is not None:
                rank, race_time = mine.rank, mine.race_time_ms
                me = {"rank": rank, "race_time_ms": race_time}
        elif ctx.user_id:
            home = await self._home(cycle, ctx.user_id)
            standing = await global_rank(self.regions, home, cycle, ctx.user_id) if home is not None else None
            if standing is not None:
                rank, race_time = standing.rank, standing.standing.race_time_ms
                me = {"rank": rank, "race_time_ms": race_time, "region": standing.region,
                      "region_rank": standing.standing.rank}
        if me is not None and rank <= limit and view.times.get(ctx.user_id or "") != race_time:
            view = await self._view(cycle, limit, name, fresh=True)  # the caller's own write is newer than the memo
        return f'{view.text},"me":{json.dumps(me, separators=(",", ":"))}}}'
