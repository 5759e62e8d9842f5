"""The racing game: 5-minute cycles of race times, idempotent submissions, top-10 rewards.

Behaviour: shared/spec racing.md; README's "The racing game" section shows how to run and
call it. Uses only the public runtime API (``nakama_py.runtime``).

RPCs:
  submit_race_time          players: {"race_time": seconds, "idempotency_key": "...", "metadata": {...}}
  get_leaderboard           players or http_key: {"limit": 1-1000, "cycle": n}
  get_submission            players: {"idempotency_key": "..."} -> applied (the receipt) | rejected | pending
  manual_reset_leaderboard  http_key: {} finalizes the last ended cycle, {"cycle": n} an older one
  system_metrics            http_key: counts and the last finalization
  run_retention             http_key: deletes the cycles past racing_retention_days now (also a background job)

Regions (racing_regions; region_wiring.py): a board per region, a global view merged from them
(get_leaderboard's "region" / "scope": "global"), and racing_region_standings (http_key) for other
clusters' global views.

Live races: the matchmaker (tickets with ``mode: race``, 2 to 8 players) starts an authoritative
``"race"`` match (race_match.py, race_matchmaking.py) that validates progress and records each
finisher's time, measured by the server, on the same leaderboard.

racing_submit_mode=stream (needs cluster.nats_url): submissions are accepted at once onto the event log
and applied in batches by a consumer on every node (stream_accept.py, stream_apply.py); the screening
hook point is initializer.register_event_log_screen("racing_submissions", fn).

HTTP routes (no auth; cacheable by a CDN or proxy, see public_standings.py):
  GET /racing/standings[/{cycle}]?limit=N   the top N of the current (or a given) cycle
"""

from __future__ import annotations

import time
from datetime import datetime

from nakama_py.runtime import Context, Initializer, NakamaModule, RuntimeLogger

from . import telemetry
from .access import BOARD, COLLECTION
from .cycles import Cycles
from .finalization import LAST_RESET_KEY, Finalizer
from .outcomes import Outcomes
from .public_standings import PATH as STANDINGS_PATH
from .public_standings import PublicStandings
from .race_match import RaceMatch
from .race_matchmaking import RACE_HANDLER, matchmaker_matched
from .region_wiring import install_regions
from .retention import Retention
from .settings import RacingSettings, SettingsError
from .standings import Standings
from .stream_accept import LOG as STREAM_LOG
from .stream_accept import StreamAccept
from .stream_apply import StreamApply
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
    outcomes = Outcomes(cycles)
    stream: StreamAccept | None = None
    if settings.submit_mode == "stream":
        if not nk.event_log_available():
            raise SettingsError("racing_submit_mode: stream needs the event log (set cluster.nats_url, NATS JetStream)")
        stream = StreamAccept(settings, cycles, outcomes)
    submissions = Submissions(settings, cycles, standings, stream)
    if stream is not None:
        initializer.register_event_log_consumer(STREAM_LOG, StreamApply(settings, cycles, standings, submissions).apply,
                                                batch_size=settings.stream_batch_size, max_wait_ms=50)
    finalizer = Finalizer(settings, cycles)
    retention = Retention(settings)
    system = SystemMetrics(cycles)
    regional = await install_regions(ctx, nk, initializer, settings, cycles, standings, submissions, outcomes,
                                     finalizer, retention, system)

    initializer.register_rpc("submit_race_time", submissions.submit_race_time)
    initializer.register_rpc("get_leaderboard", regional.get_leaderboard if regional else standings.get_leaderboard)
    initializer.register_rpc("get_submission", outcomes.get_submission)
    initializer.register_rpc("manual_reset_leaderboard", finalizer.manual_reset_leaderboard)
    initializer.register_rpc("system_metrics", system.system_metrics)
    initializer.register_leaderboard_reset(finalizer.on_leaderboard_reset)
    public = PublicStandings(settings, cycles, standings)
    public.regional = regional
    initializer.register_http(STANDINGS_PATH, public.get, ["GET", "HEAD"])
    initializer.register_http(STANDINGS_PATH + "/{cycle}", public.get, ["GET", "HEAD"])
    if settings.retention_interval_seconds > 0:
        initializer.register_background_job("racing_retention", settings.retention_interval_seconds, retention.run)
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
