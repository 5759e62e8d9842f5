"""A live race: the authoritative match handler ``"race"`` (the example of a Python match handler,
docs/runtime.md). The matchmaker forms a group of 2 to 8 racers (race_matchmaking.py) and this
match runs their race on the server:

- only the matched racers may join; the race starts (``START``) once all of them are in;
- racers send their progress (``PROGRESS``, ``{"distance": meters}``); the loop accepts it only
  when it is possible: never backwards, never faster than ``racing_max_speed_mps`` since the
  racer's last accepted progress (with one tick of slack). Impossible progress is refused
  (``REJECTED`` to that racer) and does not move them;
- reaching ``racing_track_meters`` finishes a racer at the time the server's clock measured since
  the start: clients never send a time. When every racer has finished or left (or the race
  exceeds ``racing_max_race_seconds``), each finisher's time goes to the racing leaderboard through
  the same path the ``submit_race_time`` RPC uses (idempotent per race and racer), everyone gets
  the results (``RESULTS``) and the match ends.

Positions are broadcast each tick a racer moved (``POSITIONS``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from nakama_py.runtime import (
    Context,
    Dispatcher,
    MatchContext,
    MatchMessage,
    MatchPresence,
    NakamaError,
    NakamaModule,
    RuntimeLogger,
)

from .settings import RacingSettings
from .submissions import Submissions

TICK_RATE = 10
MIN_RACERS, MAX_RACERS = 2, 8
# Op codes: clients send PROGRESS; the race sends the others.
PROGRESS = 1
START, POSITIONS, REJECTED, FINISHED, RESULTS = 10, 11, 12, 13, 14


@dataclass
class Racer:
    user_id: str
    username: str
    presence: MatchPresence | None = None
    distance: float = 0.0
    moved_at: float = 0.0            # server clock of the last accepted progress
    finished_after: float | None = None  # seconds from the start, measured here
    rejected: int = 0


@dataclass
class Race:
    racers: dict[str, Racer]          # by user id: only the matched players
    started_at: float | None = None
    moved: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)


def _label(race: Race) -> str:
    return json.dumps({"mode": "race", "open": race.started_at is None, "racers": len(race.racers)})


class RaceMatch:
    """One instance per race (registered as a class)."""

    def __init__(self, settings: RacingSettings, submissions: Submissions) -> None:
        self.settings = settings
        self.submissions = submissions

    def match_init(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule,
                   params: dict[str, Any]) -> tuple[Race, int, str]:
        players = params.get("players") or []
        if not MIN_RACERS <= len(players) <= MAX_RACERS:
            raise NakamaError(f"a race needs {MIN_RACERS}-{MAX_RACERS} players")
        race = Race({p["user_id"]: Racer(p["user_id"], p.get("username", "")) for p in players})
        return race, TICK_RATE, _label(race)

    def match_join_attempt(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                           tick: int, race: Race, presence: MatchPresence,
                           metadata: dict[str, str]) -> tuple[Race, bool, str]:
        if presence.user_id not in race.racers:
            return race, False, "not a racer of this race"
        if race.started_at is not None:
            return race, False, "the race has started"
        return race, True, ""

    def match_join(self, ctx: MatchContext, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                   tick: int, race: Race, presences: list[MatchPresence]) -> Race:
        for presence in presences:
            race.racers[presence.user_id].presence = presence
        if race.started_at is None and all(r.presence is not None for r in race.racers.values()):
            race.started_at = time.monotonic()
            for racer in race.racers.values():
                racer.moved_at = race.started_at
            dispatcher.broadcast_message(START, json.dumps({"track_meters": self.settings.track_meters,
                                                            "max_speed_mps": self.settings.max_speed_mps}))
            dispatcher.match_label_update(_label(race))
        return race

    def match_leave(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                    tick: int, race: Race, presences: list[MatchPresence]) -> Race:
        for presence in presences:
            racer = race.racers.get(presence.user_id)
            if racer is not None and racer.presence is not None and racer.presence.session_id == presence.session_id:
                racer.presence = None
        return race

    async def match_loop(self, ctx: MatchContext, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                         tick: int, race: Race, messages: list[MatchMessage]) -> Race | None:
        if race.started_at is None:
            # Nobody comes: a race that cannot start ends after a minute.
            return race if tick < 60 * TICK_RATE else None
        now = time.monotonic()
        for message in messages:
            racer = race.racers.get(message.user_id)
            if racer is None or message.op_code != PROGRESS or racer.finished_after is not None:
                continue
            self._progress(dispatcher, race, racer, message, now)
        if race.moved:
            race.moved = False
            dispatcher.broadcast_message(POSITIONS, json.dumps(
                {r.user_id: round(r.distance, 2) for r in race.racers.values()}))
        still_racing = [r for r in race.racers.values() if r.finished_after is None and r.presence is not None]
        if still_racing and now - race.started_at < self.settings.max_race_seconds:
            return race
        await self._finish(ctx, logger, nk, dispatcher, race)
        return None

    def _progress(self, dispatcher: Dispatcher, race: Race, racer: Racer, message: MatchMessage,
                  now: float) -> None:
        try:
            distance = float(json.loads(message.data)["distance"])
        except (ValueError, KeyError, TypeError):
            distance = float("nan")
        elapsed = now - racer.moved_at + 1 / TICK_RATE  # one tick of slack for when it arrived
        possible = racer.distance <= distance <= racer.distance + self.settings.max_speed_mps * elapsed
        if not possible:  # NaN fails too
            racer.rejected += 1
            sender = [racer.presence] if racer.presence is not None else None
            dispatcher.broadcast_message(REJECTED, json.dumps({"reason": "impossible progress",
                                                               "distance": racer.distance}), sender)
            return
        racer.distance = min(distance, self.settings.track_meters)
        racer.moved_at = now
        race.moved = True
        if racer.distance >= self.settings.track_meters:
            assert race.started_at is not None
            racer.finished_after = now - race.started_at
            dispatcher.broadcast_message(FINISHED, json.dumps({"user_id": racer.user_id,
                                                               "seconds": round(racer.finished_after, 3)}))

    async def _finish(self, ctx: MatchContext, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                      race: Race) -> None:
        finishers = sorted((r for r in race.racers.values() if r.finished_after is not None),
                           key=lambda r: r.finished_after or 0.0)
        for place, racer in enumerate(finishers, start=1):
            seconds = max(racer.finished_after or 0.0, self.settings.min_race_seconds)
            entry: dict[str, Any] = {"user_id": racer.user_id, "place": place, "seconds": round(seconds, 3)}
            try:
                receipt = await self.submissions.record(nk, racer.user_id, racer.username, seconds,
                                                        f"race:{ctx.match_id}", {"race": ctx.match_id})
                entry.update(rank=receipt["rank"], best_time_ms=receipt["best_time_ms"])
            except NakamaError as exc:
                logger.warn("race time not recorded", user_id=racer.user_id, error=exc.message)
                entry["error"] = exc.message
            race.results.append(entry)
        dispatcher.broadcast_message(RESULTS, json.dumps({
            "results": race.results,
            "did_not_finish": [r.user_id for r in race.racers.values() if r.finished_after is None]}))
        logger.info("race finished", finishers=len(finishers), racers=len(race.racers))

    def match_terminate(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                        tick: int, race: Race, grace_seconds: int) -> Race | None:
        return None  # the server is stopping: the race is abandoned, nothing is recorded

    def match_signal(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                     tick: int, race: Race, data: str) -> tuple[Race, str]:
        return race, json.dumps({r.user_id: round(r.distance, 2) for r in race.racers.values()})
