"""Reading leaderboard records: pages with cursors, owner records, the window around an
owner (Nakama's LeaderboardRecordsList and getLeaderboardRecordsHaystack).

Ranks on pages are positional: they count on from the rank stored in the cursor (up
for a next page, down for a previous one, then put back in board order). Owner
records and haystack windows take their ranks from the in-memory rank structure, and
``rank_count`` is the size of that structure (0 when the board has no ranks). A ranked
bucket whose ranks are still being read at start-up (``warming``) has them counted by the
database instead, so a read during the warm-up answers what it will answer once warm.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from nakama_py.core.leaderboard_cursor import CursorCodec, RecordCursor
from nakama_py.core.leaderboard_memory import MemoryReads, Stale, page_cursors, with_rank
from nakama_py.core.leaderboard_types import Leaderboard, LeaderboardRecord, RankEntry, RecordList, TopList, from_unix
from nakama_py.core.ranks import RankBucket, owner_int, owner_str
from nakama_py.db import leaderboards as sql
from nakama_py.db.errors import DatabaseError
from nakama_py.db.pool import Database
from nakama_py.db.replicas import ReplicaSet
from nakama_py.errors import internal, invalid_argument

log = logging.getLogger("nakama_py.leaderboards")

LIST_ERROR = "Error listing records from leaderboard."
LAST_EXPIRY = 253402300799  # 9999-12-31T23:59:59Z: no bucket can expire later
HAYSTACK_ERROR = "Error querying records from leaderboard."

BoardLookup = Callable[[str], Awaitable[Leaderboard]]
RanksLookup = Callable[[Leaderboard, int], RankBucket | None]
WarmingLookup = Callable[[Leaderboard, int], bool]
Page = tuple[list[LeaderboardRecord], str, str]  # records, next cursor, prev cursor


def valid_uuid(value: Any) -> bool:
    """A UUID in its canonical 36-character form (what the runtime must pass)."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def row_record(board_id: str, row: sql.RecordRow, expiry: int, rank: int) -> LeaderboardRecord:
    owner, username, score, subscore, num_score, max_num_score, metadata, create_time, update_time = row
    return LeaderboardRecord(board_id, owner, username, score, subscore, num_score, max_num_score,
                             orjson.loads(metadata), create_time, update_time, from_unix(expiry) if expiry else None,
                             rank)


def board_order(board: Leaderboard) -> Callable[[LeaderboardRecord], tuple[int, int, int]]:
    """Sort key putting records in the board's rank order."""
    if board.descending:
        return lambda r: (-r.score, -r.subscore, -owner_int(r.owner_id))
    return lambda r: (r.score, r.subscore, owner_int(r.owner_id))


class RecordReader:
    def __init__(self, db: Database, cursors: CursorCodec, board: BoardLookup, ranks_for: RanksLookup,
                 replicas: ReplicaSet | None = None, warming: WarmingLookup | None = None) -> None:
        self.db = db
        self._warming = warming or (lambda board, expiry: False)
        self.replicas = replicas or ReplicaSet(db, [], max_lag_sec=0.0)
        self.cursors = cursors
        self._board = board
        self._ranks_for = ranks_for
        # Client reads of buckets held in memory; None: every read from the database.
        self.memory: MemoryReads | None = MemoryReads(db, row_record, self._cursor)

    async def _fill(self, board: Leaderboard, expiry: int, records: list[LeaderboardRecord],
                    consecutive: bool = False) -> tuple[list[LeaderboardRecord], int]:
        """Records with their ranks from memory, and the bucket's rank count (0 without ranks).
        ``consecutive``: the records are neighbours in board order (a window), so the database,
        when it counts, counts for the first only."""
        bucket = self._ranks_for(board, expiry)
        if bucket is not None:
            return [with_rank(r, bucket.rank(owner_int(r.owner_id))) for r in records], len(bucket)
        if not self._warming(board, expiry):
            return records, 0
        expiry_time = from_unix(expiry)
        asked = records[:1] if consecutive else records
        ahead = await sql.ranks_ahead(self.db, board.id, expiry_time, board.descending,
                                      [(r.score, r.subscore, r.owner_id) for r in asked])
        if consecutive and ahead:
            ahead = [ahead[0] + i for i in range(len(records))]
        size = await sql.bucket_size(self.db, board.id, expiry_time)
        return [with_rank(r, n + 1) for r, n in zip(records, ahead, strict=True)], size

    def _cursor(self, board: Leaderboard, expiry: int, is_next: bool, record: LeaderboardRecord) -> str:
        return self.cursors.encode_records(board.id, expiry, RecordCursor(
            is_next, record.score, record.subscore, record.owner_id, record.rank))

    async def list_records(self, id: str, owner_ids: Sequence[str] | None, limit: int | None, cursor: str | None,
                           expiry: int, caller: str | None) -> RecordList:
        owners = list(owner_ids or [])
        if caller is None:
            if not id:
                raise invalid_argument("expects a leaderboard ID string")
            if not all(valid_uuid(o) for o in owners):
                raise invalid_argument("expects each owner ID to be a valid identifier")
            limit = limit or 0
            if not 0 <= limit <= 10000:
                raise invalid_argument("expects limit to be 0-10000")
            if expiry < 0:
                raise invalid_argument("expects expiry to equal or greater than 0")
            page_limit = limit or None
        else:
            if not id:
                raise invalid_argument("Invalid leaderboard ID.")
            if limit is not None and not 1 <= limit <= 1000:
                raise invalid_argument("Invalid limit - limit must be between 1 and 1000.")
            page_limit = limit if limit is not None else (1 if not owners or cursor else None)
            try:
                owners = [str(uuid.UUID(o)) for o in owners]  # every form Nakama's UUID parser takes
            except (ValueError, AttributeError, TypeError):
                raise invalid_argument("One or more owner IDs are invalid.") from None
        board = await self._board(id)
        bucket_expiry = expiry or board.current_expiry()
        if not -LAST_EXPIRY <= bucket_expiry <= LAST_EXPIRY:
            return RecordList([], [], "", "", 0)  # no such bucket can exist
        if caller is not None:
            served = await self._list_from_memory(board, bucket_expiry, owners, page_limit, cursor)
            if served is not None:
                return served
        records: list[LeaderboardRecord] = []
        following = preceding = ""
        if page_limit is not None:
            position = self.cursors.decode_records(cursor, id, bucket_expiry) if cursor else None
            try:
                if caller is None:  # the runtime may read right after its own write: the primary
                    page = await self._page(self.db, board, bucket_expiry, page_limit, position)
                else:
                    page = await self._client_page(board, bucket_expiry, page_limit, position, caller)
                records, following, preceding = page
            except DatabaseError as exc:
                log.error("leaderboard list failed", exc_info=exc)
                raise internal(LIST_ERROR) from None
        found: list[LeaderboardRecord] = []
        if owners:
            try:
                rows = await sql.owner_records(self.db, id, from_unix(bucket_expiry), owners)
            except DatabaseError as exc:
                log.error("leaderboard owner records failed", exc_info=exc)
                raise internal(LIST_ERROR) from None
            found = sorted((row_record(id, row, bucket_expiry, 0) for row in rows), key=board_order(board))
        try:
            found, rank_count = await self._fill(board, bucket_expiry, found)
        except DatabaseError as exc:
            log.error("leaderboard owner ranks failed", exc_info=exc)
            raise internal(LIST_ERROR) from None
        return RecordList(records, found, following, preceding, rank_count)

    async def _list_from_memory(self, board: Leaderboard, expiry: int, owners: list[str], limit: int | None,
                                cursor: str | None) -> RecordList | None:
        """A client's list reply from the ranks in memory (core/leaderboard_memory.py); None when
        the bucket is not held here or the database holds newer records than the ranks."""
        memory = self.memory
        # Tournaments change records without a new num_score (attempts): never from memory.
        bucket = self._ranks_for(board, expiry) if memory is not None and board.tournament is None else None
        if memory is None or bucket is None:
            return None
        request = ("list", limit, cursor, *owners)
        reply = memory.remembered(board, expiry, bucket, request)
        if reply is not None:
            return reply
        version = bucket.version
        records: list[LeaderboardRecord] = []
        following = preceding = ""
        try:
            if limit is not None:
                position = self.cursors.decode_records(cursor, board.id, expiry) if cursor else None
                records, following, preceding = await memory.page(board, expiry, bucket, limit, position)
            found = await memory.owners(board, expiry, bucket, owners) if owners else []
        except Stale:
            return None
        except DatabaseError as exc:
            log.error("leaderboard list failed", exc_info=exc)
            raise internal(LIST_ERROR) from None
        reply = RecordList(records, found, following, preceding, len(bucket))
        memory.remember(board, expiry, bucket, version, request, reply)
        return reply

    async def _client_page(self, board: Leaderboard, expiry: int, limit: int, position: RecordCursor | None,
                           caller: str) -> Page:
        """A client's page, from a replica when one is in rotation (other players' writes show within
        ``database.read_max_lag_ms``). The caller reads their own writes at once: their record on the
        replica is compared with the primary's (one primary-key lookup each) and, when the replica has
        not replayed it yet, the page is read again from the primary."""
        if not self.replicas.in_rotation():
            return await self._page(self.db, board, expiry, limit, position)
        expiry_time = from_unix(expiry)

        async def page_and_own(db: Database) -> tuple[Page, list[sql.RecordRow]]:
            return (await self._page(db, board, expiry, limit, position),
                    await sql.owner_records(db, board.id, expiry_time, [caller]))

        page, replica_own = await self.replicas.read(page_and_own)
        if replica_own == await sql.owner_records(self.db, board.id, expiry_time, [caller]):
            return page
        return await self._page(self.db, board, expiry, limit, position)

    async def _page(self, db: Database, board: Leaderboard, expiry: int, limit: int,
                    position: RecordCursor | None) -> Page:
        """One page and its (next, prev) cursors; ranks count on from the cursor's."""
        backwards = position is not None and not position.is_next
        ascending_scan = board.descending == backwards
        after = None if position is None else (position.score, position.subscore, position.owner_id)
        rows = await sql.record_page(db, board.id, from_unix(expiry), limit + 1, ascending_scan, after)
        more = len(rows) > limit
        rank = position.rank if position is not None else 0
        step = -1 if backwards else 1
        records = []
        for row in rows[:limit]:
            rank += step
            records.append(row_record(board.id, row, expiry, rank))
        if not records:
            return records, "", ""
        if backwards:
            records.reverse()
        following, preceding = page_cursors(self._cursor, board, expiry, records, backwards=backwards, more=more,
                                            after_position=position is not None)
        return records, following, preceding

    async def haystack(self, id: str, owner_id: str, limit: int, cursor: str | None, expiry: int, *,
                       from_memory: bool = False) -> RecordList:
        """The window around an owner; ``from_memory``: a client's read, which the ranks may serve."""
        if not id:
            raise invalid_argument("expects a leaderboard ID string")
        if not valid_uuid(owner_id):
            raise invalid_argument("expects owner ID to be a valid identifier")
        if not 1 <= limit <= 100:
            raise invalid_argument("limit must be 1-100")
        if expiry < 0:
            raise invalid_argument("expiry should be time since epoch in seconds and has to be a positive integer")
        board = await self._board(id)
        bucket_expiry = expiry or board.current_expiry()
        if bucket_expiry > LAST_EXPIRY:
            return RecordList([], [], "", "", 0)  # no such bucket can exist
        # A bad cursor is a 400 here too (Nakama answers 500, which some clients retry for ever).
        position = self.cursors.decode_records(cursor, id, bucket_expiry) if cursor else None
        try:
            if from_memory:
                served = await self._haystack_from_memory(board, bucket_expiry, owner_id, limit, cursor, position)
                if served is not None:
                    return served
            if position is not None:
                records, following, preceding = await self._page(self.db, board, bucket_expiry, limit, position)
                _, rank_count = await self._fill(board, bucket_expiry, [])
                return RecordList(records, [], following, preceding, rank_count)
            return await self._around(board, bucket_expiry, owner_id, limit)
        except DatabaseError as exc:
            log.error("leaderboard haystack failed", exc_info=exc)
            raise internal(HAYSTACK_ERROR) from None

    async def _haystack_from_memory(self, board: Leaderboard, expiry: int, owner_id: str, limit: int,
                                    cursor: str | None, position: RecordCursor | None) -> RecordList | None:
        memory = self.memory
        # Tournaments change records without a new num_score (attempts): never from memory.
        bucket = self._ranks_for(board, expiry) if memory is not None and board.tournament is None else None
        if memory is None or bucket is None:
            return None
        request = ("haystack", owner_id, limit, cursor)
        reply = memory.remembered(board, expiry, bucket, request)
        if reply is not None:
            return reply
        version = bucket.version
        try:
            if position is not None:
                records, following, preceding = await memory.page(board, expiry, bucket, limit, position)
                reply = RecordList(records, [], following, preceding, len(bucket))
            else:
                reply = await memory.around(board, expiry, bucket, owner_id, limit)
        except Stale:
            return None
        memory.remember(board, expiry, bucket, version, request, reply)
        return reply

    async def _around(self, board: Leaderboard, expiry: int, owner_id: str, limit: int) -> RecordList:
        expiry_time = from_unix(expiry)
        own_rows = await sql.owner_records(self.db, board.id, expiry_time, [owner_id])
        if not own_rows:
            return RecordList([], [], "", "", 0)
        own = row_record(board.id, own_rows[0], expiry, 0)
        at = (own.score, own.subscore, owner_id)
        # Better than the owner: ascending keys on a descending board, and the reverse.
        above_rows = await sql.record_page(self.db, board.id, expiry_time, limit + 1, board.descending, at)
        has_prev = len(above_rows) > limit
        above = [row_record(board.id, r, expiry, 0) for r in reversed(above_rows[:limit])]
        second_limit = limit // 2
        if len(above) < second_limit:
            second_limit = limit - len(above)
        below_rows = await sql.record_page(self.db, board.id, expiry_time, second_limit + 1,
                                           not board.descending, at)
        has_next = len(below_rows) > second_limit
        below = [row_record(board.id, r, expiry, 0) for r in below_rows[:second_limit]]
        window = [*above, own, *below]
        start = len(window) - limit
        if start < 0 or len(above) < second_limit:
            start = 0
        if start > 0:
            has_prev = True
        window, rank_count = await self._fill(board, expiry, window[start:start + limit], consecutive=True)
        following = self._cursor(board, expiry, True, window[-1]) if has_next else ""
        preceding = self._cursor(board, expiry, False, window[0]) if has_prev else ""
        return RecordList(window, [], following, preceding, rank_count)

    async def cursor_from_rank(self, id: str, rank: int, expiry: int) -> str:
        if rank < 1:
            raise invalid_argument("invalid rank - must be > 1")
        board = await self._board(id)
        bucket_expiry = expiry or board.current_expiry()
        if rank == 1:
            return ""
        bucket = self._ranks_for(board, bucket_expiry)
        position: tuple[int, int, str] | None = None
        if bucket is not None:
            entry = bucket.at_rank(rank - 1)
            if entry is not None:
                position = (entry.score, entry.subscore, owner_str(entry.owner))
        elif self._warming(board, bucket_expiry):
            row = await sql.record_at(self.db, board.id, from_unix(bucket_expiry), board.descending, rank - 2)
            if row is not None:
                position = (row.score, row.subscore, row.owner_id)
        if position is None:
            raise invalid_argument(f"failed to get cursor from rank: rank entry {rank - 1} not found")
        return self.cursors.encode_records(id, bucket_expiry, RecordCursor(True, *position, rank - 1))

    # --- what top/rank_of answer while a bucket's ranks are still being read (start-up warm-up) ---

    async def top_from_database(self, board: Leaderboard, expiry: int, limit: int) -> TopList:
        """``top`` from the database: the first ``limit`` records and the bucket's size."""
        records, _, _ = await self._page(self.db, board, expiry, limit, None) if limit else ([], "", "")
        size = await sql.bucket_size(self.db, board.id, from_unix(expiry))
        return TopList([RankEntry(r.rank, r.owner_id, r.username, r.score, r.subscore) for r in records], size, expiry)

    async def rank_from_database(self, board: Leaderboard, expiry: int, owner_id: str) -> RankEntry | None:
        """``rank_of`` from the database: the owner's record and how many records are ahead of it."""
        expiry_time = from_unix(expiry)
        rows = await sql.owner_records(self.db, board.id, expiry_time, [owner_id])
        if not rows:
            return None
        own = rows[0]
        ahead = await sql.ranks_ahead(self.db, board.id, expiry_time, board.descending,
                                      [(own.score, own.subscore, own.owner_id)])
        return RankEntry(ahead[0] + 1, owner_id, own.username, own.score, own.subscore)
