"""What finalizing a cycle pays with regions (finalization.py does the paying, exactly once).

- Global rewards (``racing_rewards``) to the top of the global standings (the merge of every region,
  regions.py): snapshot ``snapshot_<cycle>``, receipts ``reward_<cycle>``. Each cluster pays only the
  players of the regions it serves (their accounts and wallets live in its database); every cluster
  computes the same snapshot, since an ended cycle's standings no longer change.
- With ``racing_region_rewards``, each local region's own top too: snapshot ``snapshot_<cycle>.<region>``,
  receipts ``reward_<cycle>.<region>``, ledger reason ``racing_region_reward``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nakama_py.runtime import NakamaModule

from .finalization import Payout
from .local_region import LocalRegion
from .region_settings import RegionSettings
from .regions import RegionStandings, global_top
from .settings import RacingSettings


def region_payouts(settings: RacingSettings, regions: RegionSettings, everyone: Sequence[RegionStandings],
                   local: Sequence[LocalRegion]) -> list[Payout]:
    served = set(regions.local)

    async def global_standings(nk: NakamaModule, cycle: int, n: int) -> tuple[list[dict[str, Any]], int]:
        top, counts = await global_top(everyone, cycle, n)
        return [{"rank": g.rank, "user_id": g.standing.user_id, "username": g.standing.username,
                 "race_time_ms": g.standing.race_time_ms, "region": g.region} for g in top], sum(counts.values())

    def reader(region: LocalRegion) -> Any:
        async def read(nk: NakamaModule, cycle: int, n: int) -> tuple[list[dict[str, Any]], int]:
            return [{"rank": s.rank, "user_id": s.user_id, "username": s.username, "race_time_ms": s.race_time_ms}
                    for s in await region.top(cycle, n)], await region.count(cycle)
        return read

    payouts = [Payout("", settings.rewards, global_standings, pays=lambda entry: entry["region"] in served)]
    if regions.rewards:
        payouts += [Payout(f".{region.name}", regions.rewards, reader(region), reason="racing_region_reward",
                           content={"region": region.name}) for region in local]
    return payouts
