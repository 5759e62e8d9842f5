"""Racing regions without a server: the global merge against a brute-force sort of every record,
and the region settings' rules."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nakama_py.core.ranks import owner_int
from tests.support.racing_module import racing

regions_mod = racing("regions")
region_settings = racing("region_settings")
settings_mod = racing("settings")

pytestmark = pytest.mark.unit

Record = tuple[int, int, str]  # score, subscore, owner


class MemoryRegion:
    """A region kept in a list, answering only what RegionStandings offers, and counting what it is asked."""

    def __init__(self, name: str, records: list[Record]) -> None:
        self._name = name
        # The boards' order as the server's rank memory keeps it: score, subscore, owner UUID as a 128-bit int.
        self.records = sorted(records, key=lambda r: (r[0], r[1], owner_int(r[2])))
        self.asked: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    def _standing(self, index: int) -> Any:
        score, subscore, owner = self.records[index]
        return regions_mod.Standing(index + 1, owner, f"n{owner[:4]}", score, subscore)

    async def top(self, cycle: int, n: int) -> list[Any]:
        self.asked.append(f"top {n}")
        return [self._standing(i) for i in range(min(n, len(self.records)))]

    async def count(self, cycle: int) -> int:
        self.asked.append("count")
        return len(self.records)

    async def rank_of(self, cycle: int, user_id: str) -> Any:
        self.asked.append("rank_of")
        for index, record in enumerate(self.records):
            if record[2] == user_id:
                return self._standing(index)
        return None

    async def better_than(self, cycle: int, score: int, subscore: int, user_id: str) -> int:
        self.asked.append("better_than")
        key = (score, subscore, owner_int(user_id))
        return sum(1 for r in self.records if (r[0], r[1], owner_int(r[2])) < key)


regions_strategy = st.lists(st.lists(st.tuples(st.integers(1000, 1010), st.integers(0, 1)), max_size=25),
                            min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(data=regions_strategy, n=st.integers(1, 40))
def test_the_merge_equals_one_board_of_every_record(data: list[list[tuple[int, int]]], n: int) -> None:
    regions = [MemoryRegion(f"r{i}", [(score, sub, str(uuid.uuid4())) for score, sub in records])
               for i, records in enumerate(data)]
    everyone = sorted(((r[0], r[1], owner_int(r[2])), r, region.name) for region in regions for r in region.records)

    top, counts = asyncio.run(regions_mod.global_top(regions, 7, n))
    assert [(g.rank, g.region, g.standing.user_id) for g in top] == [
        (rank, name, record[2]) for rank, (_, record, name) in enumerate(everyone[:n], start=1)]
    assert counts == {region.name: len(region.records) for region in regions}

    for rank, (_, record, name) in enumerate(everyone, start=1):
        home = next(region for region in regions if region.name == name)
        found = asyncio.run(regions_mod.global_rank(regions, home, 7, record[2]))
        assert found is not None and (found.rank, found.region, found.standing.race_time_ms) == (rank, name, record[0])


def test_ties_across_regions_follow_the_boards_owner_order() -> None:
    low, high = "00000000-0000-4000-8000-000000000001", "ffffffff-0000-4000-8000-000000000001"
    east, west = MemoryRegion("east", [(5000, 0, high)]), MemoryRegion("west", [(5000, 0, low)])
    top, _ = asyncio.run(regions_mod.global_top([east, west], 1, 10))
    assert [(g.rank, g.standing.user_id) for g in top] == [(1, low), (2, high)]
    assert asyncio.run(regions_mod.global_rank([east, west], east, 1, high)).rank == 2


def test_a_rank_needs_one_probe_per_other_region_and_no_full_read() -> None:
    regions = [MemoryRegion(f"r{i}", [(1000 + j, 0, str(uuid.uuid4())) for j in range(50)]) for i in range(3)]
    player = regions[1].records[10][2]
    asyncio.run(regions_mod.global_rank(regions, regions[1], 1, player))
    assert [r.asked for r in regions] == [["better_than"], ["rank_of"], ["better_than"]]
    for region in regions:
        region.asked.clear()
    asyncio.run(regions_mod.global_top(regions, 1, 5))
    assert all(r.asked == ["top 5", "count"] for r in regions)


def test_a_player_without_a_record_has_no_global_rank() -> None:
    region = MemoryRegion("only", [(1000, 0, str(uuid.uuid4()))])
    assert asyncio.run(regions_mod.global_rank([region], region, 1, str(uuid.uuid4()))) is None


def test_region_settings() -> None:
    parse = region_settings.RegionSettings.from_env
    assert parse({}).enabled is False
    both = parse({"racing_regions": "us-east,eu-west,ap-south",
                  "racing_region_urls": "eu-west=http://127.0.0.1:7350/", "racing_region_rewards": "300,100"})
    assert both.local == ("us-east", "ap-south") and both.remote == {"eu-west": "http://127.0.0.1:7350"}
    assert both.rewards == (300, 100) and region_settings.region_board("eu-west") == "race_times.eu-west"
    for env, message in [
        ({"racing_regions": "US East"}, "racing_regions: 'US East' is not a region name"),
        ({"racing_regions": "a,a"}, "names a region twice"),
        ({"racing_regions": "a", "racing_region_urls": "b=http://x"}, "racing_region_urls: 'b=http://x'"),
        ({"racing_regions": "a", "racing_region_urls": "a=http://x"}, "every region is remote"),
        ({"racing_region_rewards": "10"}, "racing_region_rewards: needs racing_regions"),
        ({"racing_regions": "a", "racing_region_rewards": "x"}, "racing_region_rewards: 'x' is not"),
    ]:
        with pytest.raises(settings_mod.SettingsError, match=message.replace("(", r"\(")):
            parse(env)
