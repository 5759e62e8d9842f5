"""Client record pages served from the in-memory ranks (the REST list and haystack routes).

Which records make a page, and their order, comes from the bucket's rank structure
(core/ranks.py), the one the racing RPC's ``top`` reads; what a reply shows of each record
beyond its position (metadata, update time, max_num_score) comes from a bounded cache of
records read from the database once. A cached record is used only while its packed rank
key (score, subscore, owner, create time and num_score) is the one the ranks hold: every
change of a stored record bumps num_score (or, deleted and written again, its create
time), so an equal key means an unchanged record. Records missing from the cache are read
in one primary-key query; if the database holds another version of one of them (the ranks
have not heard of a write yet), the reader falls back to the database-served page.

So a memory-served reply is the database-served reply of the same moment, with the same
freshness as the ranks: a player's own writes at once (the caller is ``caught_up`` first),
everyone else's within ``ranks.VISIBILITY_BOUND_SEC``. Replies are kept per bucket version:
until the bucket changes, the same request gets the same ``RecordList`` object back (the
API keeps its rendered bytes by that object).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from nakama_py.core.leaderboard_cursor import RecordCursor
from nakama_py.core.leaderboard_types import Leaderboard, LeaderboardRecord, RecordList, from_unix, micros
from nakama_py.core.ranks import OWNER_MAX, OWNER_SHIFT, SCORE_MAX, RankBucket, make_stamp, owner_int, owner_str, pack
from nakama_py.db import leaderboards as sql
from nakama_py.db.pool import Database

DETAIL_CAP = 20_000  # cached records per process (the hot ones: top pages, players near each other)
MEMO_CAP = 64  # replies kept per bucket version
NEXT_OWNER = 1 << OWNER_SHIFT  # added to a stamp-less key: the first key past that (score, subscore, owner)

Page = tuple[list[LeaderboardRecord], str, str]  # records, next cursor, prev cursor
CursorMaker = Callable[[Leaderboard, int, bool, LeaderboardRecord], str]
RowRecord = Callable[[str, sql.RecordRow, int, int], LeaderboardRecord]
Found = list[tuple[int, int]]  # (rank, packed key) of the records a reply shows


class Stale(Exception):
    """The database holds another version of a record than the ranks: serve from the database."""


class Memo(NamedTuple):
    bucket: RankBucket
    version: int
    replies: dict[tuple[object, ...], RecordList]


def with_rank(record: LeaderboardRecord, rank: int) -> LeaderboardRecord:
    if record.rank == rank:
        return record
    return LeaderboardRecord(record.leaderboard_id, record.owner_id, record.username, record.score, record.subscore,
                             record.num_score, record.max_num_score, record.metadata, record.create_time,
                             record.update_time, record.expiry_time, rank)


def page_cursors(cursor: CursorMaker, board: Leaderboard, expiry: int, records: list[LeaderboardRecord], *,
                 backwards: bool, more: bool, after_position: bool) -> tuple[str, str]:
    """The next and previous cursors of a non-empty page of records in board order, read from a cursor's
    position (``after_position``) or the top, backwards or forwards, with ``more`` records beyond it in
    the reading direction: a page read backwards always has a next page."""
    if backwards:
        has_next, has_prev = True, more
    else:
        has_next, has_prev = more, after_position
    following = cursor(board, expiry, True, records[-1]) if has_next else ""
    preceding = cursor(board, expiry, False, records[0]) if has_prev else ""
    return following, preceding


class MemoryReads:
    def __init__(self, db: Database, row_record: RowRecord, cursor: CursorMaker) -> None:
        self.db = db
        self._row_record = row_record
        self._cursor = cursor
        # (board, expiry, owner) -> (packed key the record had, the record with the rank it last showed)
        self._details: dict[tuple[str, int, int], tuple[int, LeaderboardRecord]] = {}
        self._memos: dict[tuple[str, int], Memo] = {}

    # --- replies kept per bucket version --------------------------------------------------

    def remembered(self, board: Leaderboard, expiry: int, bucket: RankBucket,
                   request: tuple[object, ...]) -> RecordList | None:
        memo = self._memos.get((board.id, expiry))
        if memo is None or memo.bucket is not bucket or memo.version != bucket.version:
            return None
        return memo.replies.get(request)

    def remember(self, board: Leaderboard, expiry: int, bucket: RankBucket, version: int,
                 request: tuple[object, ...], reply: RecordList) -> None:
        if bucket.version != version:
            return  # the bucket changed while records were read: this reply is not that version's
        key = (board.id, expiry)
        memo = self._memos.get(key)
        if memo is None or memo.bucket is not bucket or memo.version != version:
            memo = self._memos[key] = Memo(bucket, version, {})
        if len(memo.replies) >= MEMO_CAP:
            memo.replies.clear()
        memo.replies[request] = reply

    def forget(self, board_id: str) -> None:
        for key in [k for k in self._memos if k[0] == board_id]:
            del self._memos[key]

    # --- records by their packed keys -------------------------------------------------------

    async def _records(self, board: Leaderboard, expiry: int, bucket: RankBucket,
                       found: Found) -> list[LeaderboardRecord]:
        """The records at these (rank, key)s, from the cache or else one query; Stale when the
        database holds another version of one of them."""
        details = self._details
        board_id = board.id
        out: list[LeaderboardRecord | None] = []
        missing: dict[int, int] = {}  # owner -> index in out
        for rank, key in found:
            owner = _owner_of(bucket, key)
            cached = details.get((board_id, expiry, owner))
            if cached is not None and cached[0] == key:
                record = cached[1]
                if record.rank != rank:  # kept with the rank last shown: usually the same again
                    record = with_rank(record, rank)
                    details[(board_id, expiry, owner)] = (key, record)
                out.append(record)
            else:
                missing[owner] = len(out)
                out.append(None)
        if missing:
            rows = await sql.owner_records(self.db, board_id, from_unix(expiry), [owner_str(o) for o in missing])
            if len(rows) != len(missing):
                raise Stale()
            if len(details) + len(rows) > DETAIL_CAP:
                self._evict(len(rows))
            for row in rows:
                owner = owner_int(row.owner_id)
                index = missing.get(owner)
                if index is None:
                    raise Stale()
                key = found[index][1]
                if key != pack(bucket.desc, row.score, row.subscore, owner,
                               make_stamp(micros(row.create_time), row.num_score)):
                    raise Stale()
                record = self._row_record(board_id, row, expiry, found[index][0])
                details[(board_id, expiry, owner)] = (key, record)
                out[index] = record
        return [r for r in out if r is not None]

    def _evict(self, room: int) -> None:
        """Drop the oldest cached records (dicts keep insertion order) to make room."""
        details = self._details
        drop = max(room, DETAIL_CAP // 4)
        for key in list(details)[:drop]:
            del details[key]

    # --- a page, the owners' records, the window around an owner -------------------------------

    async def page(self, board: Leaderboard, expiry: int, bucket: RankBucket, limit: int,
                   position: RecordCursor | None) -> Page:
        """The page the database would give (core/leaderboard_reads.py ``_page``), from memory."""
        keys = bucket.keys
        backwards = position is not None and not position.is_next
        if position is None:
            start, more = 0, len(keys) > limit
            stop = min(limit, len(keys))
        else:
            if not (0 <= position.score <= SCORE_MAX and 0 <= position.subscore <= SCORE_MAX):
                raise Stale()  # no record can be there
            probe = pack(bucket.desc, position.score, position.subscore, owner_int(position.owner_id))
            if backwards:
                stop = int(keys.bisect_left(probe))
                start = max(0, stop - limit)
                more = stop > limit
            else:
                start = int(keys.bisect_left(probe + NEXT_OWNER))
                stop = min(start + limit, len(keys))
                more = len(keys) - start > limit
        rank = position.rank if position is not None else 0
        if backwards:
            first = rank - (stop - start)
            found = [(first + i, key) for i, key in enumerate(keys.islice(start, stop))]
        else:
            found = [(rank + 1 + i, key) for i, key in enumerate(keys.islice(start, stop))]
        records = await self._records(board, expiry, bucket, found)
        if not records:
            return records, "", ""
        following, preceding = page_cursors(self._cursor, board, expiry, records, backwards=backwards, more=more,
                                            after_position=position is not None)
        return records, following, preceding

    async def owners(self, board: Leaderboard, expiry: int, bucket: RankBucket,
                     owners: Sequence[str]) -> list[LeaderboardRecord]:
        """The owners' records in board order, ranked (the database's owner query, from memory)."""
        keys = []
        for owner in dict.fromkeys(owner_int(o) for o in owners):
            current = bucket.owners.get(owner)
            if current is not None:
                keys.append(current[0])
        keys.sort()
        return await self._records(board, expiry, bucket, [(bucket.rank(_owner_of(bucket, k)), k) for k in keys])

    async def around(self, board: Leaderboard, expiry: int, bucket: RankBucket, owner_id: str,
                     limit: int) -> RecordList:
        """The window around an owner (core/leaderboard_reads.py ``_around``), from memory."""
        current = bucket.owners.get(owner_int(owner_id))
        if current is None:
            return RecordList([], [], "", "", 0)
        keys = bucket.keys
        at = int(keys.bisect_left(current[0]))
        above = min(at, limit)
        has_prev = at > limit
        second_limit = limit // 2
        if above < second_limit:
            second_limit = limit - above
        below = min(len(keys) - at - 1, second_limit)
        has_next = len(keys) - at - 1 > second_limit
        first = at - above  # index of the window's first record
        size = above + 1 + below
        start = size - limit
        if start < 0 or above < second_limit:
            start = 0
        if start > 0:
            has_prev = True
        first += start
        size = min(size - start, limit)
        found = [(first + 1 + i, key) for i, key in enumerate(keys.islice(first, first + size))]
        window = await self._records(board, expiry, bucket, found)
        following = self._cursor(board, expiry, True, window[-1]) if has_next else ""
        preceding = self._cursor(board, expiry, False, window[0]) if has_prev else ""
        return RecordList(window, [], following, preceding, len(bucket))


def _owner_of(bucket: RankBucket, key: int) -> int:
    owner = (key >> OWNER_SHIFT) & OWNER_MAX
    return OWNER_MAX - owner if bucket.desc else owner
