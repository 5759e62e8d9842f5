"""Putting regions in place when ``racing_regions`` is set (nothing changes without it)."""

from __future__ import annotations

from nakama_py.runtime import Context, Initializer, NakamaModule

from .cycles import Cycles
from .finalization import Finalizer
from .local_region import LocalRegion
from .outcomes import Outcomes
from .player_regions import PlayerRegions
from .region_finalization import region_payouts
from .region_service import RPC, RegionService
from .region_settings import RegionSettings, region_board
from .regional_standings import RegionalStandings
from .regions import RegionStandings
from .remote_region import RemoteRegion
from .retention import Retention
from .settings import RacingSettings, SettingsError
from .standings import Standings
from .submissions import Submissions
from .system import SystemMetrics


async def install_regions(ctx: Context, nk: NakamaModule, initializer: Initializer, settings: RacingSettings,
                          cycles: Cycles, standings: Standings, submissions: Submissions, outcomes: Outcomes,
                          finalizer: Finalizer, retention: Retention,
                          system: SystemMetrics) -> RegionalStandings | None:
    """The regional ``get_leaderboard`` (None without regions), after creating each local region's board
    and pointing submissions and finalization at the regions."""
    regions = RegionSettings.from_env(ctx.env)
    if not regions.enabled:
        return None
    local: dict[str, LocalRegion] = {}
    everyone: list[RegionStandings] = []
    for name in regions.regions:
        if name in regions.remote:
            everyone.append(RemoteRegion(nk, name, regions.remote[name], regions.http_key, cycles,
                                         settings.leaderboard_cache_ms / 1000))
            continue
        board = await nk.leaderboard_create(region_board(name), authoritative=True, sort_order="asc",
                                            operator="best", reset_schedule=settings.reset_schedule,
                                            enable_ranks=True)
        if board.reset_schedule != settings.reset_schedule:
            raise SettingsError(f"racing_cycle_seconds: leaderboard {board.id!r} already resets on "
                                f"{board.reset_schedule!r}, not {settings.reset_schedule!r}")
        local[name] = LocalRegion(nk, name, board.id, cycles)
        everyone.append(local[name])
    players = PlayerRegions(regions)
    regional = RegionalStandings(settings, cycles, everyone, regions, standings)
    submissions.regions = outcomes.regions = players  # the streamed mode's entries and receipts name the region too
    submissions.on_change.append(regional.changed)
    boards = [region.board for region in local.values()]
    retention.boards += boards
    submissions.boards = system.boards = boards  # the sizes and counts of this cluster's regions
    finalizer.payouts = region_payouts(settings, regions, everyone, list(local.values()))
    initializer.register_rpc(RPC, RegionService(local).standings)
    return regional
