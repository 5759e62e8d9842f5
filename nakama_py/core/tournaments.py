"""Tournaments: leaderboards with periods, joins, attempt limits and sizes, as Nakama runs them.

A tournament is a row of Nakama's ``leaderboard`` table with a duration. It shares the
leaderboards' machinery: the board cache, the rank structure of each bucket (a period's
records share its expiry), pages, haystacks and cross-process rank updates. What is its
own lives here: the period rules (core/tournament_schedule.py), joining, the attempt
count against ``max_num_score``, the participant limit ``max_size``, listing, and the
runtime's end and reset hooks, fired once per moment across processes by
scheduler/tournament_hooks.py.

``caller`` is a user id for client calls, None for the runtime (which may write to
authoritative tournaments).
"""

from __future__ import annotations

import builtins
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from nakama_py.core.leaderboard_reads import valid_uuid
from nakama_py.core.leaderboard_schedule import parse_board_rules, parse_schedule
from nakama_py.core.leaderboard_types import Leaderboard, LeaderboardRecord, RecordList, from_unix
from nakama_py.core.leaderboard_writes import MAX_ATTEMPTS, RECORD_PKEY
from nakama_py.core.leaderboards import LeaderboardService
from nakama_py.core.tournament_schedule import moments
from nakama_py.db import record_partitions as partitions
from nakama_py.db import tournaments as sql
from nakama_py.db.errors import DatabaseError, UniqueViolation
from nakama_py.db.pool import Database
from nakama_py.errors import Code, NakamaError, internal, invalid_argument, not_found, permission_denied
from nakama_py.leaderboard_enums import Operator, OperatorOverride, SortOrder

log = logging.getLogger("nakama_py.tournaments")

NOT_FOUND = "Tournament not found."
UNLIMITED_SIZE = 100_000_000  # the column's default: no participant limit
MAX_CATEGORY = 127
LIST_LIMIT_MAX = 100

# (tournament, the end of its active period, its records' expiry) -> None
HookFunction = Callable[["Tournament", int, int], Awaitable[None]]


def failed_precondition(message: str) -> NakamaError:
    return NakamaError(message, Code.FAILED_PRECONDITION)


@dataclass(frozen=True, slots=True)
class Tournament:
    """Nakama's api.Tournament: the board's rules and its current period."""

    id: str
    title: str
    description: str
    category: int
    sort_order: SortOrder
    operator: OperatorOverride  # the API enum: 1 best, 2 set, 3 incr, 4 decr
    size: int
    max_size: int
    max_num_score: int
    can_enter: bool
    start_active: int
    end_active: int
    prev_reset: int
    next_reset: int
    metadata: dict[str, Any]
    create_time: datetime
    start_time: int
    end_time: int
    duration: int
    authoritative: bool
    join_required: bool


def _api_operator(board: Leaderboard) -> OperatorOverride:
    return board.operator.override


class TournamentService:
    def __init__(self, db: Database, leaderboards: LeaderboardService) -> None:
        self.db = db
        self.leaderboards = leaderboards
        self.end_hook: HookFunction | None = None
        self.reset_hook: HookFunction | None = None

    # --- tournaments ---------------------------------------------------------------------------

    async def create(self, id: str, *, authoritative: bool = True, sort_order: SortOrder | str | int = "desc",
                     operator: Operator | str | int = "best", reset_schedule: str | None = None,
                     metadata: Mapping[str, Any] | None = None, title: str = "", description: str = "",
                     category: int = 0, start_time: int = 0, end_time: int = 0, duration: int = 0,
                     max_size: int = 0, max_num_score: int = 0, join_required: bool = False,
                     enable_ranks: bool = True) -> Tournament:
        """Create a tournament (the existing one when the id is taken). ``start_time`` 0 is now,
        ``end_time`` 0 never ends, ``max_size``/``max_num_score`` 0 are unlimited."""
        if not isinstance(id, str) or not id:
            raise invalid_argument("expects a tournament ID string")
        sort, oper = parse_board_rules(sort_order, operator, reset_schedule)
        if not 0 <= category <= MAX_CATEGORY:
            raise invalid_argument("category must be 0-127")
        if start_time < 0:
            raise invalid_argument("startTime must be >= 0")
        start = start_time or int(time.time())
        if end_time and end_time < start:
            raise invalid_argument("endTime must be >= startTime")
        if duration <= 0:
            raise invalid_argument("duration must be > 0")
        if max_size < 0 or max_num_score < 0:
            raise invalid_argument("maxSize and maxNumScore must be >= 0")
        values = {"id": id, "authoritative": bool(authoritative), "sort_order": int(sort), "operator": int(oper),
                  "reset": reset_schedule or None, "metadata": orjson.dumps(dict(metadata or {})).decode(),
                  "category": category, "description": description, "duration": duration, "end": end_time,
                  "max_size": max_size or UNLIMITED_SIZE, "max_num_score": max_num_score or 1_000_000,
                  "title": title, "start": start, "join_required": bool(join_required),
                  "enable_ranks": bool(enable_ranks)}
        row, created = await sql.insert_tournament(self.db, values)
        board = self.leaderboards.adopt_board(row, created)
        if board.tournament is None:
            raise invalid_argument(f"{id!r} is a leaderboard, not a tournament")
        return (await self._views([board]))[0]

    async def delete(self, id: str) -> None:
        await self.leaderboards.delete(id)

    async def tournament(self, id: str) -> Leaderboard:
        try:
            board = await self.leaderboards.board(id)
        except NakamaError:
            raise not_found(NOT_FOUND) from None
        if board.tournament is None:
            raise not_found(NOT_FOUND)
        return board

    async def get(self, ids: Sequence[str]) -> builtins.list[Tournament]:
        boards = []
        for id in dict.fromkeys(ids):
            try:
                boards.append(await self.tournament(id))
            except NakamaError:
                continue
        return await self._views(boards)

    async def list(self, *, category_start: int = 0, category_end: int = MAX_CATEGORY, start_time: int = -1,
                   end_time: int = -1, limit: int = LIST_LIMIT_MAX,
                   cursor: str | None = None) -> tuple[builtins.list[Tournament], str | None]:
        """Tournaments by category range and times (Nakama's filters: with no end time given, only
        ongoing and future ones; end time 0, only those that never end), ordered by start then id."""
        if not 0 <= category_end <= MAX_CATEGORY:
            raise invalid_argument("Tournament category end must be >=0 and <128.")
        if category_end < category_start:
            raise invalid_argument("Tournament category end must be greater than category start.")
        if end_time not in (-1, 0) and end_time < start_time:
            raise invalid_argument("Tournament end time must be greater than start time.")
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise invalid_argument("Limit must be between 1 and 100.")
        now = time.time()
        found = []
        for board in sorted((b for b in self.leaderboards.boards() if b.tournament is not None),
                            key=lambda b: (b.tournament.start_time if b.tournament else 0, b.id)):
            rules = board.tournament
            assert rules is not None
            if not category_start <= rules.category <= category_end or rules.start_time < start_time:
                continue
            if (end_time == 0 and rules.end_time != 0) \
                    or (end_time == -1 and rules.end_time != 0 and rules.end_time < now) \
                    or (end_time > 0 and (rules.end_time == 0 or rules.end_time > end_time)):
                continue
            found.append(board)
        if cursor:
            ids = [b.id for b in found]
            if cursor not in ids:
                raise invalid_argument("Cursor is invalid or expired.")
            found = found[ids.index(cursor) + 1:]
        page = found[:limit]
        following = page[-1].id if len(found) > limit else None
        return await self._views(page), following

    async def _views(self, boards: builtins.list[Leaderboard]) -> builtins.list[Tournament]:
        if not boards:
            return []
        try:
            size_of = await sql.sizes(self.db, [b.id for b in boards])
        except DatabaseError:
            log.exception("error reading tournament sizes")
            raise internal("Error listing tournaments.") from None
        now = time.time()
        return [self._view(board, size_of.get(board.id, 0), now) for board in boards]

    def _view(self, board: Leaderboard, size: int, now: float) -> Tournament:
        rules = board.tournament
        assert rules is not None
        period = board.deadlines(now)
        can_enter = period.start_active <= now and not (period.end_active and period.end_active < now) \
            and size < rules.max_size
        prev_reset = 0
        if board.reset_schedule:
            last = parse_schedule(board.reset_schedule).last_at_or_before(now)
            prev_reset = last if last >= rules.start_time else 0
        return Tournament(board.id, rules.title, rules.description, rules.category, board.sort_order,
                          _api_operator(board), size, rules.max_size, rules.max_num_score, can_enter,
                          period.start_active, period.end_active, prev_reset, period.expiry, board.metadata,
                          board.create_time, rules.start_time, rules.end_time, rules.duration, board.authoritative,
                          rules.join_required)

    # --- joining and writing -------------------------------------------------------------------

    async def join(self, id: str, owner_id: str, username: str | None) -> None:
        """Enter a join-required tournament's current period (a no-op for the others, or when joined)."""
        board = await self.tournament(id)
        rules = board.tournament
        assert rules is not None
        if not rules.join_required:
            return
        period = board.deadlines()
        if period.end_active <= time.time():
            raise invalid_argument("Tournament is not active and cannot accept new joins.")
        expiry = from_unix(period.expiry)
        try:
            await partitions.ensure(self.db, expiry)
            async with self.db.transaction() as conn:
                row = await sql.join(conn, id, owner_id, expiry, username, rules.max_num_score)
                if row is None:
                    return  # joined already
                if rules.max_size < UNLIMITED_SIZE and not await sql.take_place(conn, id):
                    raise invalid_argument("Tournament cannot be joined as it has reached its max size.")
        except DatabaseError:
            log.exception("error joining tournament")
            raise internal("Error while trying to join tournament.") from None
        self.leaderboards.writes.record_written(board, period.expiry, owner_id, row, True)

    async def write_record(self, id: str, owner_id: str, *, username: str | None = None, score: int = 0,
                           subscore: int = 0, metadata: Mapping[str, Any] | str | None = None,
                           override_operator: OperatorOverride | int = OperatorOverride.NO_OVERRIDE,
                           caller: str | None = None) -> LeaderboardRecord:
        """One attempt in the current period: refused outside it, past ``max_num_score`` attempts,
        without a join where one is required, and for a new participant of a full tournament."""
        if caller is None and not valid_uuid(owner_id):
            raise invalid_argument("expects owner ID to be a valid identifier")
        board = await self.tournament(id)
        rules = board.tournament
        assert rules is not None
        if caller is not None and rules.end_time and rules.end_time <= time.time():
            raise not_found("Tournament not found or has ended.")
        if board.authoritative and caller is not None:
            raise permission_denied("Tournament only allows authoritative score submissions.")
        period = board.deadlines()
        now = time.time()
        if period.start_active > now or period.end_active <= now:
            raise failed_precondition("Tournament is not active and cannot accept new scores.")
        operator = board.operator
        if override_operator:
            try:
                chosen = OperatorOverride(override_operator).operator
            except ValueError:
                raise invalid_argument("expects override operator to be 'best', 'set', 'incr' or 'decr'") from None
            if chosen is not None:
                operator = chosen
        if score < 0 or subscore < 0:
            raise internal("Error writing score to tournament.")  # the database's CHECK, as in Nakama
        meta = metadata if metadata is None or isinstance(metadata, str) else orjson.dumps(dict(metadata)).decode()
        expiry = from_unix(period.expiry)
        attempt = sql.TournamentWrite(id, owner_id, username or None, score, subscore, meta, expiry,
                                      rules.max_num_score)
        await partitions.ensure(self.db, expiry)
        for tries_left in reversed(range(MAX_ATTEMPTS)):
            try:
                async with self.db.transaction() as conn:
                    current = await sql.lock_record(conn, id, owner_id, expiry)
                    if current is None and rules.join_required:
                        raise failed_precondition("Must join tournament before attempting to write value.")
                    if current is not None and current.max_num_score and current.num_score >= current.max_num_score:
                        raise failed_precondition("Reached allowed max number of score attempts.")
                    # Checked again on the written row: concurrent first writes of one owner find no row to
                    # lock, and the upsert's unique index is what orders them (an over-limit write rolls back).
                    row = await sql.write(conn, operator, board.descending, attempt)
                    num_score, max_num_score = row.num_score, row.max_num_score
                    if max_num_score and num_score > max_num_score:
                        raise failed_precondition("Reached allowed max number of score attempts.")
                    if num_score == 1 and current is None and rules.max_size < UNLIMITED_SIZE \
                            and not await sql.take_place(conn, id):
                        raise failed_precondition("Tournament has reached max size.")
                break
            except UniqueViolation as exc:
                # Two first writes of one owner with the same score met on the primary key rather than on
                # the owner index the upsert names: the row exists now, so the next try locks and counts it.
                if exc.constraint != RECORD_PKEY or not tries_left:
                    log.exception("error writing tournament record")
                    raise internal("Error writing score to tournament.") from None
            except DatabaseError:
                log.exception("error writing tournament record")
                raise internal("Error writing score to tournament.") from None
        return self.leaderboards.writes.record_written(board, period.expiry, owner_id, row, True)

    async def delete_record(self, id: str, owner_id: str, *, caller: str | None = None) -> None:
        """Delete the owner's record of the current period (no record is fine); the place it took is freed."""
        if caller is None and not valid_uuid(owner_id):
            raise invalid_argument("expects owner ID to be a valid identifier")
        board = await self.tournament(id)
        rules = board.tournament
        assert rules is not None
        if board.authoritative and caller is not None:
            raise permission_denied("Tournament only allows authoritative score deletions.")
        expiry = board.current_expiry()
        try:
            async with self.db.transaction() as conn:
                deleted = await sql.delete_record(conn, id, owner_id, from_unix(expiry))
                if deleted is not None and rules.max_size < UNLIMITED_SIZE:
                    await sql.release_place(conn, id)
        except DatabaseError:
            log.exception("error deleting tournament record")
            raise internal("Error deleting score from tournament.") from None
        if deleted is not None and self.leaderboards.ranked(board):
            self.leaderboards.writes.record_deleted(id, expiry, owner_id, deleted.num_score, deleted.create_time)

    async def add_attempts(self, id: str, owner_id: str, count: int) -> None:
        """Allow the owner ``count`` more attempts in the current period (negative: fewer)."""
        if count == 0:
            return
        board = await self.tournament(id)
        if board.deadlines().end_active <= time.time():
            raise failed_precondition("Tournament is not active and cannot accept new scores.")
        await sql.add_attempts(self.db, id, owner_id, from_unix(board.current_expiry()), count)

    async def list_records(self, id: str, *, owner_ids: Sequence[str] | None = None, limit: int | None = None,
                           cursor: str | None = None, expiry: int = 0, caller: str | None = None) -> RecordList:
        board = await self.tournament(id)
        rules = board.tournament
        assert rules is not None
        if expiry == 0 and rules.end_time and rules.end_time <= time.time():
            raise not_found("Tournament has ended.")
        if caller is not None:
            await self.leaderboards.caught_up(caller)
        return await self.leaderboards.reads.list_records(id, owner_ids, limit, cursor, expiry, caller)

    async def haystack(self, id: str, owner_id: str, *, limit: int = 10, cursor: str | None = None,
                       expiry: int = 0, caller: str | None = None) -> RecordList:
        board = await self.tournament(id)
        if expiry == 0:
            expiry = board.current_expiry()
            if expiry and expiry <= time.time():
                return RecordList([], [], "", "", 0)
        if caller is not None:
            await self.leaderboards.caught_up(caller)
        return await self.leaderboards.reads.haystack(id, owner_id, limit, cursor, expiry)

    # --- the runtime's end and reset hooks --------------------------------------------------------

    def moments(self, board: Leaderboard, after: int, until: float, limit: int) -> builtins.list[int]:
        """The tournament's hook moments ``after < t <= until`` (period ends and expiries)."""
        rules = board.tournament
        if rules is None:
            return []
        return [m[0] for m in moments(rules.start_time, rules.end_time, rules.duration, board.reset_schedule,
                                      after, until, limit)]

    def next_moment(self, board: Leaderboard, now: float) -> int:
        found = self.moments(board, math.floor(now), math.inf, 1)
        return found[0] if found else 0

    @property
    def has_hooks(self) -> bool:
        return self.end_hook is not None or self.reset_hook is not None

    async def fire(self, board: Leaderboard, moment: int) -> None:
        """Run the hooks due at ``moment``: the end hook when a period stops there, then the reset
        hook when its records expire there (the scheduler calls this once per moment)."""
        rules = board.tournament
        assert rules is not None
        found = moments(rules.start_time, rules.end_time, rules.duration, board.reset_schedule, moment - 1, moment, 1)
        if not found or found[0][0] != moment:
            return  # the tournament changed since (deleted and made again): nothing is due then
        _, ends, expires = found[0]
        view = (await self._views([board]))[0]
        period = board.deadlines(moment - 1)
        if ends and self.end_hook is not None:
            await self.end_hook(view, period.end_active, period.expiry)
        if expires and self.reset_hook is not None:
            await self.reset_hook(view, period.end_active, period.expiry)
