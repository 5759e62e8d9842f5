"""Leaderboard reset schedules: cron expressions read the way Nakama's cronexpr reads
them, evaluated in UTC with croniter.

Forms accepted (as in Nakama):
- 5 fields: minute hour day-of-month month day-of-week (second 0, any year);
- 6 fields: the same plus a year at the end;
- 7 fields: a second first, then the 5 fields, then a year;
- the macros @yearly, @annually, @monthly, @weekly, @daily and @hourly;
- ``L`` (last day of the month, or ``5L``: the last Friday), ``W`` and ``#``.
Fields beyond the seventh are ignored, as cronexpr does.

A board's records live in buckets keyed by the end of their reset period: a write at
time t lands in the bucket whose expiry is the first reset strictly after t. Working
that out costs croniter a few hundred microseconds, so each schedule remembers the
answer until the period ends: on the write path it is a comparison.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from functools import lru_cache

from croniter import croniter
from croniter.croniter import CroniterBadDateError, CroniterError

from nakama_py.errors import invalid_argument
from nakama_py.leaderboard_enums import Operator, SortOrder

# Nakama's macro table, in its 7-field form (second ... year).
MACROS = {
    "@yearly": "0 0 0 1 1 * *",
    "@annually": "0 0 0 1 1 * *",
    "@monthly": "0 0 0 1 * * *",
    "@weekly": "0 0 0 * * 0 *",
    "@daily": "0 0 0 * * * *",
    "@hourly": "0 0 * * * * *",
}
_MACRO = re.compile("|".join(re.escape(name) for name in MACROS))
# cronexpr writes "the last Friday" as 5L; croniter as L5.
_LAST_WEEKDAY = re.compile(r"^([0-7])L$", re.IGNORECASE)
MAX_EXPRESSION_CHARS = 64  # leaderboard.reset_schedule is VARCHAR(64)


class InvalidSchedule(ValueError):
    pass


def _seven_fields(expression: str) -> str:
    text = _MACRO.sub(lambda match: MACROS[match.group(0)], expression)
    fields = text.split()
    if len(fields) < 5:
        raise InvalidSchedule("missing field(s)")
    fields = fields[:7]
    if len(fields) == 5:
        fields = ["0", *fields, "*"]
    elif len(fields) == 6:
        fields = ["0", *fields]
    dow = fields[5]
    fields[5] = ",".join(_LAST_WEEKDAY.sub(r"L\1", part) for part in dow.split(","))
    return " ".join(fields)


def _iterator(text: str, start: float) -> croniter:
    return croniter(text, datetime.fromtimestamp(start, UTC), second_at_beginning=True)


class ResetSchedule:
    """One parsed expression. Times are unix seconds; 0 means "no such reset"."""

    __slots__ = ("_exhausted_from", "_from", "_next", "_text", "expression")

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self._text = _seven_fields(expression)
        try:
            croniter(self._text, datetime(2000, 1, 1, tzinfo=UTC), second_at_beginning=True)
        except (CroniterError, ValueError, KeyError, TypeError) as exc:
            raise InvalidSchedule(str(exc)) from None
        self._from = math.inf  # the cached "next reset" holds for times in [_from, _next)
        self._next = 0
        self._exhausted_from = math.inf  # no reset at all after this time (e.g. a year long past)

    def next_after(self, t: float) -> int:
        """The first reset strictly after ``t``; 0 when the schedule has none left."""
        if self._from <= t < self._next:
            return self._next
        if t >= self._exhausted_from:
            return 0
        try:
            value = int(_iterator(self._text, t).get_next(float))
        except (CroniterBadDateError, CroniterError, ValueError, OverflowError):
            self._exhausted_from = t
            return 0
        # Nothing fires in (t, value), so any time in [t, value) has the same next reset.
        self._from, self._next = t, value
        return value

    def last_at_or_before(self, t: float) -> int:
        """The latest reset at or before ``t``; 0 when there is none."""
        try:
            return int(_iterator(self._text, math.floor(t) + 1).get_prev(float))
        except (CroniterBadDateError, CroniterError, ValueError, OverflowError):
            return 0

    def between(self, after: int, until: float, limit: int) -> list[int]:
        """Up to ``limit`` resets r with ``after < r <= until``, oldest first."""
        found: list[int] = []
        try:
            it = _iterator(self._text, after)
            while len(found) < limit:
                value = int(it.get_next(float))
                if value > until:
                    break
                found.append(value)
        except (CroniterBadDateError, CroniterError, ValueError, OverflowError):
            pass
        return found


@lru_cache(maxsize=1024)
def parse_schedule(expression: str) -> ResetSchedule:
    """A shared, cached schedule for an expression; InvalidSchedule when cronexpr would refuse it."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise InvalidSchedule(f"longer than {MAX_EXPRESSION_CHARS} characters")
    return ResetSchedule(expression)


def parse_board_rules(sort_order: str | int, operator: str | int,
                      reset_schedule: str | None) -> tuple[SortOrder, Operator]:
    """A leaderboard's or tournament's sort order, operator and reset schedule, checked as
    ``nk.leaderboard_create``/``nk.tournament_create`` check them."""
    try:
        sort = SortOrder.parse(sort_order)
    except ValueError:
        raise invalid_argument("expects sort order to be 'asc' or 'desc'") from None
    try:
        oper = Operator.parse(operator)
    except ValueError:
        raise invalid_argument("expects operator to be 'best', 'set', 'incr' or 'decr'") from None
    if reset_schedule:
        try:
            parse_schedule(reset_schedule)
        except InvalidSchedule:
            raise invalid_argument("expects reset schedule to be a valid CRON expression") from None
    return sort, oper
