"""``GET /racing/standings`` (the current cycle) and ``GET /racing/standings/{cycle}``: the public,
cacheable top ``?limit=`` (default 100, at most 1000) of a cycle, for a CDN or caching proxy in front.

The body has nothing player-specific (no ``me``), so one cached copy serves everybody:
``{"cycle": n, "ends_at": "...", "entries": [{"rank", "user_id", "username", "race_time_ms"}], "total": n}``.
With ``racing_regions``: the global standings (``"scope": "global"``, entries with their ``"region"``,
``"regions"`` the counts), or with ``?region=<name>`` that region's (``"region": name``).

- ``ETag`` is a hash of that body: it changes exactly when the standings shown change (a new
  time, a new player in the top, the count of racers), and every server process computes the
  same one for the same standings, so a proxy revalidating against any process gets its 304.
- ``Cache-Control`` for a running cycle: ``public, max-age=M, stale-while-revalidate=M`` with
  M = ``racing_leaderboard_cache_ms`` in whole seconds (at least 1). A cycle that has ended (and
  settled, ``SETTLE_SECONDS``) never changes again: ``public, max-age=86400, immutable``.
- ``Last-Modified``: a finished cycle's settle time; for a running cycle, when this process
  first served these standings.
- ``If-None-Match`` with the current tag answers ``304 Not Modified`` with no body.

Staleness bound through a cache honouring these headers: the origin's memo (at most
``racing_leaderboard_cache_ms``) + ``max-age`` + ``stale-while-revalidate``.
"""

from __future__ import annotations

import hashlib
import time
from email.utils import formatdate

from nakama_py.runtime import Code, Context, HttpRequest, HttpResponse, NakamaError, NakamaModule, RuntimeLogger

from .cycles import Cycles
from .finalization import SETTLE_SECONDS
from .regional_standings import RegionalStandings
from .settings import RacingSettings
from .standings import DEFAULT_LIMIT, MAX_LIMIT, Standings

PATH = "/racing/standings"
FINAL_MAX_AGE = 86400


def _int_param(text: str | None, name: str, low: int, high: int | None = None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bound = f"{low} to {high}" if high is not None else f"at least {low}"
        raise NakamaError(f"{name} must be an integer, {bound}", Code.INVALID_ARGUMENT)
    return value


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison, which If-None-Match uses."""
    if if_none_match is None:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


class PublicStandings:
    def __init__(self, settings: RacingSettings, cycles: Cycles, standings: Standings) -> None:
        self.cycles = cycles
        self.standings = standings
        self.max_age = max(1, round(settings.leaderboard_cache_ms / 1000))
        self._first_served: dict[tuple[int, int, str], tuple[str, float]] = {}  # (cycle, limit, region) -> (etag, when)
        self.regional: RegionalStandings | None = None  # set with racing_regions (region_wiring.py)

    def _last_modified(self, key: tuple[int, int, str], etag: str, now: float) -> float:
        seen = self._first_served.get(key)
        if seen is None or seen[0] != etag:
            if len(self._first_served) > 256:
                self._first_served.clear()
            seen = (etag, now)
            self._first_served[key] = seen
        return seen[1]

    async def get(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, request: HttpRequest) -> HttpResponse:
        now = time.time()
        limit = _int_param(request.query_value("limit"), "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
        cycle = self.standings.checked_cycle(_int_param(request.path_params.get("cycle"), "cycle", 0), now)
        if self.regional is not None:  # racing_regions: the global standings, or ?region= one region's
            region = request.query_value("region")
            body = (await self.regional.public(cycle, limit, region)).encode()
        else:
            entries, total = await self.standings.top(nk, cycle, limit)
            body = (f'{{"cycle":{cycle},"ends_at":"{self.cycles.ends_at(cycle)}","entries":{entries},'
                    f'"total":{total}}}').encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        settled = self.cycles.end(cycle) + SETTLE_SECONDS
        if now >= settled:
            cache_control = f"public, max-age={FINAL_MAX_AGE}, immutable"
            modified = settled
        else:
            cache_control = f"public, max-age={self.max_age}, stale-while-revalidate={self.max_age}"
            modified = self._last_modified((cycle, limit, request.query_value("region") or ""), etag, now)
        headers = {"ETag": etag, "Cache-Control": cache_control, "Last-Modified": formatdate(modified, usegmt=True)}
        if _matches(request.header("If-None-Match"), etag):
            return HttpResponse(304, b"", headers)
        return HttpResponse(200, body, headers)
