"""The matchmaker's groups become races: the matchmaker-matched hook starts a ``"race"`` match
(race_match.py) for a group of 2 to 8 players whose tickets ask for ``mode: race``; other groups
keep Nakama's relayed match (the hook returns None)."""

from __future__ import annotations

from nakama_py.runtime import Context, MatchmakerEntry, NakamaModule, RuntimeLogger

from .race_match import MAX_RACERS, MIN_RACERS

RACE_HANDLER = "race"


async def matchmaker_matched(ctx: Context, logger: RuntimeLogger, nk: NakamaModule,
                             entries: list[MatchmakerEntry]) -> str | None:
    if not MIN_RACERS <= len(entries) <= MAX_RACERS:
        return None
    if any(entry.properties.get("mode") != "race" for entry in entries):
        return None
    players = [{"user_id": e.presence.user_id, "username": e.presence.username} for e in entries]
    match_id = await nk.match_create(RACE_HANDLER, {"players": players})
    logger.info("race created", match_id=match_id, racers=len(players))
    return match_id
