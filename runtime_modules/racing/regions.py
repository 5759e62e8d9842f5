"""The region boundary and the global merge.

A region's standings are reached only through ``RegionStandings``: its top N, its record count, a
player's own standing, and how many of its records are strictly ahead of a given (score, subscore,
owner). That is all the global view needs from another region, so a region may live in this
cluster's database (local_region.py) or on another cluster (remote_region.py).

Order is the boards' own (ascending race time, then subscore, then the owner's UUID), and a player
has a record in one region only, so:
  global top N  = the first N of the merge of every region's top N;
  global rank   = the player's rank in their region + Σ over the other regions of the records
                  strictly ahead of the player's (score, subscore, owner) there;
  global total  = Σ of the regions' counts.
No region's bucket is scanned: a top N, a count and one rank probe per region (from memory locally).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Standing:
    rank: int            # within its region
    user_id: str
    username: str
    race_time_ms: int    # the board's score
    subscore: int = 0

    @property
    def order(self) -> tuple[int, int, str]:
        """The boards' order: score, subscore, then the owner (canonical UUIDs sort as their bytes)."""
        return self.race_time_ms, self.subscore, self.user_id


@dataclass(frozen=True, slots=True)
class GlobalStanding:
    rank: int
    region: str
    standing: Standing


class RegionStandings(Protocol):
    """One region's standings for a cycle, wherever they are kept."""

    @property
    def name(self) -> str: ...

    async def top(self, cycle: int, n: int) -> list[Standing]: ...

    async def count(self, cycle: int) -> int: ...

    async def rank_of(self, cycle: int, user_id: str) -> Standing | None:
        """The player's own record there, with its rank in the region; None without one."""
        ...

    async def better_than(self, cycle: int, score: int, subscore: int, user_id: str) -> int:
        """How many records there the boards' order puts strictly ahead of (score, subscore, user_id)."""
        ...


def merge_top(tops: Sequence[tuple[str, Sequence[Standing]]], n: int) -> list[GlobalStanding]:
    """The global first ``n`` from each region's own top (each already in the boards' order)."""
    streams = [[(s.order, region, s) for s in standings] for region, standings in tops]
    merged = itertools.islice(heapq.merge(*streams), n)
    return [GlobalStanding(rank, region, standing) for rank, (_, region, standing) in enumerate(merged, start=1)]


async def global_top(regions: Sequence[RegionStandings], cycle: int, n: int) -> tuple[list[GlobalStanding],
                                                                                         dict[str, int]]:
    """The global top ``n`` and each region's record count."""
    tops = await asyncio.gather(*(r.top(cycle, n) for r in regions))
    counts = await asyncio.gather(*(r.count(cycle) for r in regions))
    return (merge_top([(r.name, top) for r, top in zip(regions, tops, strict=True)], n),
            {r.name: count for r, count in zip(regions, counts, strict=True)})


async def global_rank(regions: Sequence[RegionStandings], home: RegionStandings, cycle: int,
                      user_id: str) -> GlobalStanding | None:
    """The player's global standing (their record is in ``home``); None without a record."""
    own = await home.rank_of(cycle, user_id)
    if own is None:
        return None
    ahead = await asyncio.gather(*(r.better_than(cycle, own.race_time_ms, own.subscore, user_id)
                                   for r in regions if r.name != home.name))
    return GlobalStanding(own.rank + sum(ahead), home.name, own)
