"""``racing_region_standings`` (http_key only): what another cluster's global view asks of the regions
this cluster serves, in one call: a region's top ``limit`` of a cycle, its record count, and for each
probe (score, subscore, user id) the records strictly ahead of it.

Payload ``{"region", "cycle", "limit": 0-1000, "probes": [[score, subscore, user_id], ...] (at most 100)}``;
reply ``{"region", "cycle", "total", "entries": [[user_id, username, score, subscore], ...], "better_than": [...]}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nakama_py.runtime import Code, Context, NakamaError, NakamaModule, RuntimeLogger

from .access import require_backend
from .local_region import LocalRegion
from .payloads import invalid, json_object, optional_int

RPC = "racing_region_standings"
MAX_PROBES = 100


def _probe(value: Any) -> tuple[int, int, str]:
    if (not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                                    for v in value[:2])
            or not isinstance(value[2], str)):
        raise invalid("probes must be [score, subscore, user_id] triples")
    return value[0], value[1], value[2]


class RegionService:
    def __init__(self, regions: dict[str, LocalRegion]) -> None:
        self.regions = regions

    async def standings(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
        require_backend(ctx, RPC)
        body = json_object(payload)
        name = body.get("region")
        region = self.regions.get(name) if isinstance(name, str) else None
        if region is None:
            raise NakamaError(f"region {name!r} is not served by this cluster", Code.NOT_FOUND)
        cycle = optional_int(body, "cycle", low=0)
        if cycle is None:
            raise invalid("cycle is required")
        limit = optional_int(body, "limit", low=0, high=1000) or 0
        raw = body.get("probes") or []
        if not isinstance(raw, list) or len(raw) > MAX_PROBES:
            raise invalid(f"probes must be a list of at most {MAX_PROBES}")
        probes = [_probe(p) for p in raw]
        top = await region.top(cycle, limit) if limit else []
        total = await region.count(cycle)
        ahead = await asyncio.gather(*(region.better_than(cycle, *p) for p in probes))
        return nk.json_encode({
            "region": region.name, "cycle": cycle, "total": total,
            "entries": [[s.user_id, s.username, s.race_time_ms, s.subscore] for s in top],
            "better_than": list(ahead)})
