"""When a tournament is open: Nakama's deadlines of the period a moment falls in.

A tournament runs from ``start_time`` (until ``end_time``, 0 = never ends). Without a
reset schedule it has one period: active from the start for ``duration`` seconds, its
records expiring at the end time. With a schedule each reset opens a period, active for
``duration`` seconds (never past the next reset), whose records expire at the next
reset (never past the end time). The runtime's end hook fires when a period stops
being active, the reset hook when its records expire.
"""

from __future__ import annotations

from dataclasses import dataclass

from nakama_py.core.leaderboard_schedule import parse_schedule


@dataclass(frozen=True, slots=True)
class Deadlines:
    start_active: int  # unix seconds: the period opens
    end_active: int    # the period stops taking scores (the end hook)
    expiry: int        # the period's records expire (the reset hook); 0: never

    def active(self, now: float) -> bool:
        return self.start_active <= now < self.end_active


def deadlines(start: int, end: int, duration: int, reset_schedule: str | None, now: float) -> Deadlines:
    """The period of a tournament at ``now`` (the next one when ``now`` is between periods)."""
    if not reset_schedule:
        end_active = start + duration
        if end and end_active > end:
            end_active = end
        return Deadlines(start, end_active, end)
    schedule = parse_schedule(reset_schedule)
    # Before the start: the first reset at or after it; else the last reset at or before now.
    start_active = schedule.next_after(start - 1) if now < start else schedule.last_at_or_before(now)
    end_active = start_active + duration
    expiry = schedule.next_after(start_active)
    end_active = min(end_active, expiry) if expiry else end_active
    if start > end_active:
        # The start falls after this period's active part: the first full period after the start.
        start_active = schedule.next_after(start - 1)
        expiry = schedule.next_after(start_active)
        end_active = min(start_active + duration, expiry) if expiry else start_active + duration
    elif start > start_active:
        start_active = start
    if end and (expiry == 0 or expiry > end):
        expiry = end
        end_active = min(end_active, expiry)
    return Deadlines(start_active, end_active, expiry)


def moments(start: int, end: int, duration: int, reset_schedule: str | None, after: int, until: float,
            limit: int) -> list[tuple[int, bool, bool]]:
    """Up to ``limit`` hook moments ``after < t <= until``, oldest first: (t, ends a period, expires one)."""
    found: list[tuple[int, bool, bool]] = []
    cursor = after
    while len(found) < limit:
        period = deadlines(start, end, duration, reset_schedule, cursor + 1)
        if period.end_active <= cursor and period.expiry <= cursor:
            break  # nothing after the cursor: the tournament is over
        candidates = [t for t in (period.end_active, period.expiry) if t > cursor]
        if not candidates:
            break
        moment = min(candidates)
        if moment > until:
            break
        found.append((moment, moment == period.end_active, moment == period.expiry))
        cursor = moment
    return found
