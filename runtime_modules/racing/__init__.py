"""The racing game: 5-minute cycles of race times, idempotent submissions, top-10 rewards.

Behaviour: shared/spec racing.md; README's "The racing game" section shows how to run and
call it. Uses only the public runtime API (``nakama_py.runtime``).

RPCs:
  submit_race_time          players: {"race_time": seconds, "idempotency_key": "...", "metadata": {...}}
  get_leaderboard           players or http_key: {"limit": 1-1000, "cycle": n}
  manual_reset_leaderboard  http_key: {} finalizes the last ended cycle, {"cycle": n} an older one
  system_metrics            http_key: counts and the last finalization
  run_retention             http_key: deletes the cycles past racing_retention_days now (also a background job)

Live races: the matchmaker (tickets with ``mode: race``, 2 to 8 players) starts an authoritative
``"race"`` match (race_match.py, race_matchmaking.py) that validates progress and records each
finisher's time, measured by the server, on the same leaderboard.
"""

from __future__ import annotations

import time
from datetime import datetime

from nakama_py.runtime import Context, Initializer, NakamaModule, RuntimeLogger

from . import telemetry
from .access import BOARD, COLLECTION
from .cycles import Cycles
from .finalization import LAST_RESET_KEY, Finalizer
from .race_match import RaceMatch
from .race_matchmaking import RACE_HANDLER, matchmaker_matched
from .retention import INTERVAL_SECONDS, Retention
from .settings import RacingSettings
from .standings import Standings
from .submissions import Submissions
from .system import SystemMetrics


async def init_module(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, initializer: Initializer) -> None:
    settings = RacingSettings.from_env(ctx.env)
    board = await nk.leaderboard_create(BOARD, authoritative=True, sort_order="asc", operator="best",
                                        reset_schedule=settings.reset_schedule, enable_ranks=True)
    if board.reset_schedule != settings.reset_schedule:
        raise ValueError(f"racing_cycle_seconds: leaderboard {BOARD!r} already resets on "
                         f"{board.reset_schedule!r}, not {settings.reset_schedule!r}; delete the board "
                         f"(nk.leaderboard_delete) to change the cycle length")
    cycles = Cycles(settings.cycle_seconds)
    standings = Standings(settings, cycles)
    submissions = Submissions(settings, cycles, standings)
    finalizer = Finalizer(settings, cycles)

    initializer.register_rpc("submit_race_time", submissions.submit_race_time)
    initializer.register_rpc("get_leaderboard", standings.get_leaderboard)
    initializer.register_rpc("manual_reset_leaderboard", finalizer.manual_reset_leaderboard)
    initializer.register_rpc("system_metrics", SystemMetrics(cycles).system_metrics)
    initializer.register_leaderboard_reset(finalizer.on_leaderboard_reset)
    retention = Retention(settings)
    initializer.register_background_job("racing_retention", INTERVAL_SECONDS, retention.run)
    initializer.register_rpc("run_retention", retention.run_retention)
    initializer.register_match(RACE_HANDLER, lambda: RaceMatch(settings, submissions))  # one instance per race
    initializer.register_matchmaker_matched(matchmaker_matched)

    telemetry.declare(nk)
    last = await nk.storage_read([{"collection": COLLECTION, "key": LAST_RESET_KEY, "user_id": None}])
    if last:
        at = nk.json_decode(last[0].value).get("at", "")
        if at:
            nk.metrics_gauge_set(telemetry.LAST_FINALIZE, None, datetime.fromisoformat(at).timestamp())
    logger.info("racing ready", cycle_seconds=settings.cycle_seconds, current_cycle=cycles.of(time.time()))
