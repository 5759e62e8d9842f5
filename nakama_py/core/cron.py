"""Cron expressions as Nakama reads them, evaluated in UTC.

Nakama accepts 5 fields (minute hour day-of-month month day-of-week), 6 fields
(the same plus a year at the end) and 7 fields (seconds first, year last), and
the macros @yearly, @annually, @monthly, @weekly, @daily and @hourly. croniter
takes seconds first and a year last, so the 6-field form gains a "0" second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from croniter import croniter
from croniter.croniter import CroniterError

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}


class InvalidCron(ValueError):
    pass


def _normalize(expression: str) -> tuple[str, bool]:
    """The expression croniter understands, and whether it carries a seconds field."""
    text = MACROS.get(expression.strip().lower(), expression.strip())
    fields = text.split()
    if len(fields) == 5:
        return text, False
    if len(fields) == 6:
        return "0 " + text, True
    if len(fields) == 7:
        return text, True
    raise InvalidCron(f"expected 5, 6 or 7 fields, got {len(fields)}")


class CronSchedule:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self._text, self._seconds = _normalize(expression)
        try:
            croniter(self._text, datetime(2000, 1, 1, tzinfo=UTC), second_at_beginning=self._seconds)
        except (CroniterError, ValueError, KeyError) as exc:
            raise InvalidCron(str(exc)) from None

    def next_after(self, timestamp: float) -> float:
        """The first run strictly after ``timestamp`` (unix seconds)."""
        start = datetime.fromtimestamp(timestamp, UTC)
        it = croniter(self._text, start, second_at_beginning=self._seconds)
        return float(it.get_next(float))

    def prev_before(self, timestamp: float) -> float:
        """The last run strictly before ``timestamp``."""
        start = datetime.fromtimestamp(timestamp, UTC)
        it = croniter(self._text, start, second_at_beginning=self._seconds)
        return float(it.get_prev(float))


@lru_cache(maxsize=256)
def schedule(expression: str) -> CronSchedule:
    return CronSchedule(expression)


def next_run(expression: str, after: float) -> float:
    return schedule(expression).next_after(after)
