"""The values the leaderboard service takes and returns (see helpers' contracts).
Sort orders and operators are nakama_py/leaderboard_enums.py."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nakama_py.core.leaderboard_schedule import parse_schedule
from nakama_py.leaderboard_enums import Operator, SortOrder

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def micros(value: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding)."""
    return (value - EPOCH) // _MICRO


def from_unix(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True, slots=True)
class Leaderboard:
    id: str
    authoritative: bool
    sort_order: SortOrder
    operator: Operator
    reset_schedule: str | None
    metadata: dict[str, Any]
    create_time: datetime
    enable_ranks: bool

    @property
    def descending(self) -> bool:
        return self.sort_order is SortOrder.DESCENDING

    def next_reset(self, now: float | None = None) -> int:
        """Unix seconds of the next reset after ``now``; 0 when it never resets."""
        if not self.reset_schedule:
            return 0
        return parse_schedule(self.reset_schedule).next_after(time.time() if now is None else now)

    def prev_reset(self, now: float | None = None) -> int:
        """Unix seconds of the last reset at or before ``now``; 0 when none since creation."""
        if not self.reset_schedule:
            return 0
        last = parse_schedule(self.reset_schedule).last_at_or_before(time.time() if now is None else now)
        return last if last and last >= self.create_time.timestamp() else 0

    def current_expiry(self, now: float | None = None) -> int:
        """The bucket a write made now lands in: its expiry, 0 for a board that never resets."""
        return self.next_reset(now)


@dataclass(frozen=True, slots=True)
class LeaderboardRecord:
    leaderboard_id: str
    owner_id: str
    username: str | None
    score: int
    subscore: int
    num_score: int
    max_num_score: int
    metadata: dict[str, Any]
    create_time: datetime
    update_time: datetime
    expiry_time: datetime | None
    rank: int  # 0 = no rank


@dataclass(frozen=True, slots=True)
class RecordList:
    records: list[LeaderboardRecord]
    owner_records: list[LeaderboardRecord]
    next_cursor: str
    prev_cursor: str
    rank_count: int


@dataclass(frozen=True, slots=True)
class RankEntry:
    rank: int
    owner_id: str
    username: str | None
    score: int
    subscore: int


@dataclass(frozen=True, slots=True)
class TopList:
    entries: list[RankEntry]
    total: int  # records in the bucket (the rank count)
    expiry_time: int  # unix seconds of the bucket's expiry; 0 when the board never resets


@dataclass(frozen=True, slots=True)
class WriteReceipt:
    record: LeaderboardRecord
    rank: int
    submitted_score: int
    submitted_subscore: int
    updated: bool  # the write changed the record (for best: it was an improvement)
    replayed: bool  # the key was seen before: this is the first call's receipt, nothing was written
