"""Leaderboards: Nakama's rules for boards and records, ranks from memory, reset hooks.

``state.leaderboards`` is a LeaderboardService; the REST routes (api/leaderboard.py) and
the runtime's ``nk.leaderboard_*`` call it. ``caller`` is a user id for client calls and
None for the runtime, which bypasses the authoritative check as Nakama's runtime does.

- Boards are cached in memory: all of them are loaded at start-up, a board another
  process creates is announced (core/rank_sync.py) or read on first use.
- Records live in Nakama's ``leaderboard_record`` table, one bucket per reset period
  keyed by its expiry (core/leaderboard_schedule.py). Writes: core/leaderboard_writes.py;
  pages, owner records and haystacks: core/leaderboard_reads.py.
- Ranks come from core/ranks.py (one structure per bucket), kept in step across server
  processes by core/rank_sync.py; ``top`` and ``rank_of`` answer from it alone.
- Start-up does not wait for ranks: the current bucket of every ranked board is marked
  "warming" at once and read in the background, one bucket after another. Until a
  bucket is in memory its reads are answered by the database (``read_top``/``read_rank``,
  client lists and haystacks with ranks counted by SQL), writes are queued for the loaded
  copy (ranks.RankStore.loading), so start-up time does not grow with the data.
- The reset scheduler (scheduler/leaderboard_resets.py) calls the ``on_reset`` handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from nakama_py.cluster.bus import ClusterBus, WorkerMarks
from nakama_py.config import Config
from nakama_py.core import rank_sync
from nakama_py.core.leaderboard_batch import OnceWriteItem, write_once_batch
from nakama_py.core.leaderboard_cursor import CursorCodec
from nakama_py.core.leaderboard_reads import LAST_EXPIRY, RecordReader
from nakama_py.core.leaderboard_schedule import parse_board_rules
from nakama_py.core.leaderboard_types import (
    Leaderboard,
    LeaderboardRecord,
    RankEntry,
    RecordList,
    TopList,
    TournamentRules,
    WriteReceipt,
    from_unix,
    micros,
)
from nakama_py.core.leaderboard_writes import RecordWriter
from nakama_py.core.node_sync import NodeSync
from nakama_py.core.ranks import (
    SCORE_MAX,
    VISIBILITY_BOUND_SEC,
    BucketBuilder,
    RankBucket,
    RankStore,
    make_stamp,
    owner_int,
    owner_str,
)
from nakama_py.db import leaderboards as sql
from nakama_py.db import record_partitions as partitions
from nakama_py.db.pool import Database
from nakama_py.db.replicas import ReplicaSet
from nakama_py.errors import (
    BucketNotLoaded,
    BucketWarming,
    LeaderboardNotFound,
    LeaderboardRanksDisabled,
    NakamaError,
    invalid_argument,
)
from nakama_py.leaderboard_enums import Operator, OperatorOverride, SortOrder

__all__ = [
    "BucketNotLoaded",
    "BucketWarming",
    "Leaderboard",
    "LeaderboardRecord",
    "LeaderboardService",
    "RankEntry",
    "RecordList",
    "TopList",
    "WriteReceipt",
]

log = logging.getLogger("nakama_py.leaderboards")

WARM_BATCH = 10_000
DELETE_BATCH = 10_000
MAINTENANCE_SEC = 5.0
MAX_ID_CHARS = 128
WARM_RETRY_SEC = 1.0

ResetHandler = Callable[[Leaderboard, int], Awaitable[None]]


class LeaderboardService:
    def __init__(self, db: Database, config: Config, *, node: str | None = None, bus: ClusterBus | None = None,
                 marks: WorkerMarks | None = None, replicas: ReplicaSet | None = None,
                 other_nodes: Callable[[], bool] | None = None, sync_over_bus: bool = False) -> None:
        self.db = db
        # Whether another node (not a sibling worker) is alive: then a player's own records are
        # checked against the primary before their standing is read (see caught_up).
        self.other_nodes = other_nodes or (lambda: False)
        self.marks = marks  # shared with sibling worker processes, when there are any
        self.node = node or uuid.uuid4().hex
        self.cursors = CursorCodec(config.session.encryption_key)
        blacklist = list(config.leaderboard.blacklist_rank_cache)
        self._ranks_off_all = blacklist == ["*"]
        self._ranks_off = set(blacklist)
        self._boards: dict[str, Leaderboard] = {}
        self.ranks = RankStore()
        self.publisher = rank_sync.RankPublisher(bus, marks=marks)
        self.follower = rank_sync.RankFollower(self)
        # Read-your-writes across nodes, proven over the bus; the primary check is the fallback. Only on
        # a bus whose messages are cheap (NATS): on PostgreSQL's every message is a commit on the primary,
        # dearer than the check it would save.
        self.node_sync = None if bus is None or not sync_over_bus else NodeSync(
            bus, lambda event, urgent: self.publisher.publish(event, urgent), lambda: self.follower.reloading,
            hold=config.cluster.write_hold_ms / 1000)
        if bus is not None:  # hear other processes' changes
            bus.subscribe(rank_sync.TOPIC, self.follower.on_message, resync=self.follower.on_connected, echo=False)
        if marks is not None:
            marks.on_late = self._sibling_late
        self.reads = RecordReader(db, self.cursors, self.board, self._ranks_for, replicas, self._warming)
        self.writes = RecordWriter(db, self.board, self.ranked, self.ranks, self.publisher.publish, self.forget_board)
        self.reset_handler: ResetHandler | None = None
        self._loads: dict[tuple[str, int], asyncio.Future[RankBucket]] = {}
        self._warm_task: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Load every board, mark the current bucket of each ranked one warming, and start reading
        those in the background (``warmed()`` waits for them)."""
        heads = self.marks.heads() if self.marks is not None else None
        await self.refresh_boards()
        cold = [(board.id, board.current_expiry()) for board in self._boards.values()
                if self.ranked(board) and board.has_current_bucket()]
        for board_id, expiry in cold:
            # From now on writes and bus events for the bucket are queued for the loaded copy, and
            # reads know that absent is not empty. The database read starts later, so it holds every
            # change the sibling marks of ``heads`` stand for: those marks count as applied now.
            self.ranks.begin_load(board_id, expiry)
        if heads is not None and self.marks is not None:
            self.marks.loaded(heads)
        self.publisher.start()
        self.follower.started = True
        self._warm_task = asyncio.create_task(self._warm(cold), name="rank-warm-up")

    async def warmed(self) -> None:
        """Returns once the start-up warm-up has read every bucket it began with."""
        if self._warm_task is not None:
            await asyncio.shield(self._warm_task)

    def warming_buckets(self) -> int:
        """How many buckets are still being read for the first time."""
        return sum(1 for board_id, expiry in self.ranks.loading if self.ranks.warming(board_id, expiry))

    async def _warm(self, cold: list[tuple[str, int]]) -> None:
        started = time.monotonic()
        records = 0
        for board_id, expiry in cold:
            while True:
                board = self._boards.get(board_id)
                if board is None or not self.ranked(board):
                    self.ranks.abandon_load(board_id, expiry)  # deleted or switched off meanwhile
                    break
                try:
                    records += len(await self.load_ranks(board, expiry))
                    break
                except Exception as exc:  # the database is away: keep the bucket warming, try again
                    self.ranks.begin_load(board_id, expiry)
                    log.warning("leaderboard rank warm-up failed; retrying", extra={"fields": {
                        "leaderboard": board_id, "error": str(exc)}})
                    await asyncio.sleep(WARM_RETRY_SEC)
        log.info("leaderboard ranks warmed", extra={"fields": {
            "buckets": len(cold), "records": records, "seconds": round(time.monotonic() - started, 3)}})

    async def caught_up(self, user_id: str) -> None:
        """Read-your-writes: once this returns, this process's ranks hold every record change
        of ``user_id`` that a sibling worker process published before now (cluster/write_marks.py),
        and, with other nodes alive, every write of theirs acknowledged before now: proven over the
        bus (core/node_sync.py), else read from the primary."""
        if self.marks is not None:
            try:
                owner = owner_int(user_id)
            except ValueError:
                return
            await self.marks.caught_up(owner, VISIBILITY_BOUND_SEC)
        if self.other_nodes() and (self.node_sync is None or not await self.node_sync.caught_up()):
            await self.own_records_from_primary(user_id)

    def answer_hold(self) -> Callable[[float], Awaitable[None]] | None:
        """What an answer to a client awaits before it goes out, given when its request began
        (time.monotonic()): the hold of a write for readers on other nodes (core/node_sync.py); None
        without the NATS bus, where nothing is held."""
        return self.node_sync.settle if self.node_sync is not None else None

    async def own_records_from_primary(self, user_id: str) -> None:
        """Read-your-writes across nodes: a write taken by another node reaches this one over the bus
        within VISIBILITY_BOUND_SEC, too late for its writer's next request. So the player's own
        current records are read from the primary (one index scan) and put into the ranks held here;
        the stamps keep this idempotent with the bus's later copy and never let an older value win.
        A record deleted on another node still shows here until the bus brings the delete."""
        try:
            owner = owner_int(user_id)
        except ValueError:
            return
        now = time.time()
        for board_id, expiry_time, score, subscore, num_score, created, username in \
                await sql.owner_current_records(self.db, user_id):
            board = self._boards.get(board_id)
            if board is None or not self.ranked(board):
                continue
            expiry = int(expiry_time.timestamp())
            # As for the bus's events: only a current (or future) bucket may be started from one record.
            self.ranks.write(board_id, expiry, board.descending, owner, score, subscore,
                             make_stamp(micros(created), num_score), username, create=expiry == 0 or expiry > now)

    def _sibling_late(self) -> None:
        # A sibling's change did not arrive within the bound (lost with a dying process, or its
        # publishing fails): rebuild from the database rather than keep waiting or stay wrong.
        assert self.marks is not None
        log.warning("a sibling worker's leaderboard change did not arrive in time; reloading ranks")
        self.follower.schedule_reload()
        self.marks.loaded(self.marks.heads())

    async def close(self) -> None:
        if self._warm_task is not None:
            self._warm_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warm_task
        if self.node_sync is not None:
            await self.node_sync.close()
        await self.follower.close()
        await self.publisher.close()

    async def maintain(self, interval: float = MAINTENANCE_SEC) -> None:
        """Trim expired buckets from memory (after their grace period), forever."""
        while True:
            await asyncio.sleep(interval)
            dropped = self.ranks.trim_expired(time.time())
            if dropped:
                log.debug("expired rank buckets trimmed", extra={"fields": {"buckets": len(dropped)}})

    def on_reset(self, handler: ResetHandler) -> None:
        """Register the function the reset scheduler calls once per reset of each scheduled board,
        with the board and the reset (unix seconds of the bucket's expiry)."""
        self.reset_handler = handler

    # --- boards ------------------------------------------------------------------------------

    def ranked(self, board: Leaderboard) -> bool:
        return board.enable_ranks and not self._ranks_off_all and board.id not in self._ranks_off

    def rank_sizes(self) -> list[tuple[str, int, int]]:
        """(board, bucket expiry, entries) of every rank structure this process holds in memory."""
        return sorted((board, expiry, len(bucket)) for (board, expiry), bucket in self.ranks.buckets.items())

    def boards(self) -> list[Leaderboard]:
        """Every board this process knows, from memory."""
        return list(self._boards.values())

    def known_board(self, board_id: str) -> Leaderboard | None:
        return self._boards.get(board_id)

    def put_board(self, board: Leaderboard) -> None:
        self._boards[board.id] = board
        if not self.ranked(board):
            self.ranks.drop(board.id)

    def forget_board(self, board_id: str) -> None:
        self._boards.pop(board_id, None)
        self.ranks.drop(board_id)

    @staticmethod
    def _board_of(row: sql.BoardRow) -> Leaderboard:
        rules = None
        if row.duration:
            rules = TournamentRules(row.duration, row.start_time, row.end_time, row.category, row.title,
                                    row.description, row.max_size, row.max_num_score, row.join_required)
        return Leaderboard(row.id, row.authoritative, row.sort_order, row.operator, row.reset_schedule,
                           orjson.loads(row.metadata), row.create_time, row.enable_ranks, rules)

    async def refresh_boards(self) -> None:
        """Re-read every board from the database (other processes create and delete boards)."""
        boards = {b.id: b for b in map(self._board_of, await sql.all_boards(self.db))}
        for board_id in [k for k in self._boards if k not in boards]:
            self.ranks.drop(board_id)
        self._boards = {}
        for board in boards.values():
            self.put_board(board)

    async def board(self, board_id: str) -> Leaderboard:
        """A board, from memory or else the database; 404 when there is none."""
        board = self._boards.get(board_id)
        if board is not None:
            return board
        rows = await sql.boards_by_id(self.db, [board_id])
        if not rows:
            raise LeaderboardNotFound()
        board = self._board_of(rows[0])
        self.put_board(board)
        return board

    def adopt_board(self, row: sql.BoardRow, created: bool) -> Leaderboard:
        """A board another service stored (a tournament): known here, and announced when new."""
        board = self._board_of(row)
        self.put_board(board)
        if created:
            self.publisher.publish(rank_sync.board_event(board.id, board))
        return board

    async def leaderboard(self, board_id: str) -> Leaderboard:
        """A board that is not a tournament; 404 otherwise (Nakama's leaderboard calls skip tournaments)."""
        board = await self.board(board_id)
        if board.tournament is not None:
            raise LeaderboardNotFound()
        return board

    async def create(self, id: str, *, authoritative: bool = False, sort_order: SortOrder | str | int = "desc",
                     operator: Operator | str | int = "best", reset_schedule: str | None = None,
                     metadata: dict[str, Any] | None = None, enable_ranks: bool = True) -> Leaderboard:
        """Create a board; if the id exists, the existing board is returned unchanged."""
        if not isinstance(id, str) or not id:
            raise invalid_argument("expects a leaderboard ID string")
        if len(id) > MAX_ID_CHARS:
            raise invalid_argument(f"expects a leaderboard ID of at most {MAX_ID_CHARS} characters")
        sort, oper = parse_board_rules(sort_order, operator, reset_schedule)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise invalid_argument("expects metadata to be a map")
        existing = self._boards.get(id)
        if existing is not None:
            return existing
        row, created = await sql.insert_board(self.db, id, bool(authoritative), sort, oper,
                                              reset_schedule or None, orjson.dumps(dict(metadata or {})).decode(),
                                              bool(enable_ranks))
        board = self._board_of(row)
        self.put_board(board)
        if created:
            self.publisher.publish(rank_sync.board_event(id, board))
        return board

    async def delete(self, id: str) -> None:
        """Delete a board with its records (idempotent)."""
        if not id:
            raise invalid_argument("expects a leaderboard ID string")
        await sql.delete_board(self.db, id, DELETE_BATCH)
        self.forget_board(id)
        self.publisher.publish(rank_sync.board_event(id, None))

    async def list_boards(self, limit: int = 10, cursor: str | None = None) -> tuple[list[Leaderboard], str | None]:
        """Boards in creation order, ``limit`` (1-100) at a time."""
        if not 1 <= limit <= 100:
            raise invalid_argument("limit must be 1-100")
        after = None
        if cursor:
            position = self.cursors.decode_boards(cursor)
            after = (position.create_time_us, position.id)
        rows = await sql.board_page(self.db, limit + 1, after)
        boards = [self._board_of(row) for row in rows[:limit]]
        following = None
        if len(rows) > limit:
            following = self.cursors.encode_boards(boards[-1].create_time, boards[-1].id)
        return boards, following

    async def get(self, ids: Sequence[str]) -> list[Leaderboard]:
        """The boards with these ids that exist, in the order asked."""
        missing = [i for i in dict.fromkeys(ids) if i not in self._boards]
        if missing:
            for row in await sql.boards_by_id(self.db, missing):
                self.put_board(self._board_of(row))
        return [self._boards[i] for i in ids if i in self._boards and self._boards[i].tournament is None]

    async def disable_ranks(self, id: str) -> None:
        """Switch ranks off for a board (Nakama's leaderboard_ranks_disable) and forget them."""
        board = await self.board(id)
        await sql.disable_ranks(self.db, id)
        updated = Leaderboard(board.id, board.authoritative, board.sort_order, board.operator,
                              board.reset_schedule, board.metadata, board.create_time, False)
        self.put_board(updated)
        self.publisher.publish(rank_sync.board_event(id, updated))

    # --- records -------------------------------------------------------------------------------

    async def write_record(self, id: str, owner_id: str, *, username: str | None = None, score: int = 0,
                           subscore: int = 0, metadata: Mapping[str, Any] | str | None = None,
                           override_operator: OperatorOverride | int = OperatorOverride.NO_OVERRIDE,
                           caller: str | None = None) -> LeaderboardRecord:
        """Nakama's write. ``override_operator`` is the API enum (a number from a client).
        ``metadata`` None keeps the record's; a string is JSON object text."""
        if id:
            await self.leaderboard(id)
        return await self.writes.write(id, owner_id, username, score, subscore, metadata, override_operator, caller)

    async def delete_record(self, id: str, owner_id: str, *, caller: str | None = None) -> None:
        """Delete an owner's record in the current bucket (no record is fine)."""
        if id:
            await self.leaderboard(id)
        await self.writes.delete(id, owner_id, caller)

    async def delete_owner_records(self, owner_id: str) -> int:
        """Delete every leaderboard record of a user (for account deletion); how many."""
        return await self.writes.delete_owner(owner_id)

    async def write_record_once(self, id: str, owner_id: str, key: str, *, score: int, subscore: int = 0,
                                username: str | None = None, metadata: Mapping[str, Any] | None = None,
                                ttl_seconds: int = 3600, rate_limit: tuple[int, int] | None = None,
                                expiry: int | None = None) -> WriteReceipt:
        """An idempotent, authoritative write in one database round trip (into the period ending at
        ``expiry``, unix seconds, when given; else the current one).

        The first call with ``(id, owner_id, key)`` writes with the board's operator and
        stores its receipt; a later call (or a concurrent duplicate) gets that receipt with
        ``replayed=True`` and writes nothing. A key is kept for ``ttl_seconds``, or for the
        rate window if that is longer. ``rate_limit=(n, window_seconds)``: at most n accepted
        writes per owner per rolling window on this board, else RateLimitedError (code 8,
        with ``retry_after``); replays never count. Calls of one owner with different keys
        sent at the same instant may pass the limit by the number in flight.
        """
        if id:
            await self.leaderboard(id)
        return await self.writes.write_once(id, owner_id, key, score, subscore, username, metadata, ttl_seconds,
                                            rate_limit, expiry)

    async def write_records_once(self, id: str, items: Sequence[OnceWriteItem], *, ttl_seconds: int = 3600,
                                 rate_limit: tuple[int, int] | None = None,
                                 expiry: int | None = None) -> list[WriteReceipt | NakamaError]:
        """``write_record_once`` for many writes, committed in one transaction (core/leaderboard_batch.py)."""
        await self.leaderboard(id)
        return await write_once_batch(self.writes, id, items, ttl_seconds=ttl_seconds, rate_limit=rate_limit,
                                      expiry=expiry)

    async def read_record_once(self, id: str, owner_id: str, key: str) -> WriteReceipt | None:
        """The receipt of ``write_record_once(id, owner_id, key)`` while it is kept, else None."""
        return await self.writes.read_once(id, owner_id, key)

    async def purge_expired_receipts(self, batch_size: int = 5000) -> int:
        """Delete idempotency receipts past their time, ``batch_size`` rows per statement."""
        return await self.writes.purge_receipts(batch_size)

    async def count_receipts(self, id: str, *, expiry: int = 0) -> int:
        """How many ``write_record_once`` keys a board remembers; with ``expiry``, how many accepted
        idempotent writes landed in that bucket (e.g. the submissions of a period)."""
        moment = datetime.fromtimestamp(expiry, UTC) if expiry else None
        return await sql.count_receipts(self.db, id, moment)

    async def list_records(self, id: str, *, owner_ids: Sequence[str] | None = None, limit: int | None = None,
                           cursor: str | None = None, expiry: int = 0, caller: str | None = None) -> RecordList:
        """A page of a bucket (the current one, or the one that expires at ``expiry``) and the
        given owners' records. Runtime rules when ``caller`` is None (limit 0-10000, 0: owner
        records only), REST rules otherwise (limit 1-1000, Nakama's defaults)."""
        if id:
            await self.leaderboard(id)
        if caller is not None:
            await self.caught_up(caller)
        return await self.reads.list_records(id, owner_ids, limit, cursor, expiry, caller)

    async def haystack(self, id: str, owner_id: str, *, limit: int = 10, cursor: str | None = None,
                       expiry: int = 0, caller: str | None = None) -> RecordList:
        """The records around an owner, or with a cursor an ordinary page of ``limit`` records;
        a ``caller`` sees their own latest writes in it."""
        if id:
            await self.leaderboard(id)
        if caller is not None:
            await self.caught_up(caller)
        return await self.reads.haystack(id, owner_id, limit, cursor, expiry, from_memory=caller is not None)

    async def cursor_from_rank(self, id: str, rank: int, expiry: int = 0) -> str:
        """A list cursor whose next page starts at ``rank`` (Nakama's
        leaderboard_records_list_cursor_from_rank); "" for rank 1."""
        return await self.reads.cursor_from_rank(id, rank, expiry)

    # --- ranks from memory ---------------------------------------------------------------------

    def _ranks_for(self, board: Leaderboard, expiry: int) -> RankBucket | None:
        return self.ranks.get(board.id, expiry) if self.ranked(board) else None

    def _warming(self, board: Leaderboard, expiry: int) -> bool:
        return self.ranked(board) and self.ranks.warming(board.id, expiry)

    def _resident(self, id: str, expiry: int) -> tuple[int, RankBucket | None]:
        board = self._boards.get(id)
        if board is None:
            raise LeaderboardNotFound()
        if not self.ranked(board):
            raise LeaderboardRanksDisabled(id)
        current = board.current_expiry()
        bucket_expiry = expiry or current
        bucket = self.ranks.get(id, bucket_expiry)
        if bucket is None:
            if self.ranks.warming(id, bucket_expiry):
                raise BucketWarming(id, bucket_expiry)
            if bucket_expiry != current and 0 < bucket_expiry <= time.time():
                raise BucketNotLoaded(id, bucket_expiry)
        return bucket_expiry, bucket

    async def read_top(self, id: str, limit: int, expiry: int = 0) -> TopList:
        """``top``, also for a bucket not in memory: a past one is loaded first, one still warming
        at start-up is answered by the database."""
        try:
            return self.top(id, limit, expiry)
        except BucketWarming as warming:
            return await self.reads.top_from_database(await self.board(id), warming.expiry, limit)
        except BucketNotLoaded:
            await self.load_bucket(id, expiry)
            return self.top(id, limit, expiry)

    async def read_rank(self, id: str, owner_id: str, expiry: int = 0) -> RankEntry | None:
        """``rank_of``, also for a bucket not in memory (as ``read_top``)."""
        try:
            return self.rank_of(id, owner_id, expiry)
        except BucketWarming as warming:
            return await self.reads.rank_from_database(await self.board(id), warming.expiry, owner_id)
        except BucketNotLoaded:
            await self.load_bucket(id, expiry)
            return self.rank_of(id, owner_id, expiry)

    def top(self, id: str, limit: int, expiry: int = 0) -> TopList:
        """The best ``limit`` records of a bucket, from memory (no database round trip); BucketWarming
        while the bucket is read at start-up, BucketNotLoaded for a past bucket not in memory."""
        if limit < 0:
            raise invalid_argument("expects limit to be >= 0")
        bucket_expiry, bucket = self._resident(id, expiry)
        if bucket is None:
            return TopList([], 0, bucket_expiry)
        memo = bucket.memo
        if memo is not None and memo[0] == bucket.version and memo[1] >= limit:
            entries: list[RankEntry] = memo[2][:limit]  # nothing changed since: no need to rebuild
        else:
            entries = [RankEntry(e.rank, owner_str(e.owner), e.username, e.score, e.subscore)
                       for e in bucket.top(limit)]
            bucket.memo = (bucket.version, limit, entries)
            entries = entries[:]
        return TopList(entries, len(bucket), bucket_expiry)

    def rank_of(self, id: str, owner_id: str, expiry: int = 0) -> RankEntry | None:
        """An owner's rank, score and subscore in a bucket, from memory; None without a record."""
        try:
            owner = owner_int(owner_id)
        except (ValueError, AttributeError):
            raise invalid_argument("expects owner ID to be a valid identifier") from None
        _, bucket = self._resident(id, expiry)
        entry = bucket.entry(owner) if bucket is not None else None
        if entry is None:
            return None
        return RankEntry(entry.rank, owner_id, entry.username, entry.score, entry.subscore)

    def rank_if(self, id: str, owner_id: str, score: int, subscore: int = 0, expiry: int = 0) -> int:
        """The rank a record of ``owner_id`` with this score and subscore would have in a bucket, every
        other record unchanged: 1 + the records the board's order puts strictly before it (score,
        subscore, then owner). From memory, like ``top``; what merging several boards' ranks needs."""
        try:
            owner = owner_int(owner_id)
        except (ValueError, AttributeError):
            raise invalid_argument("expects owner ID to be a valid identifier") from None
        if not (0 <= score <= SCORE_MAX and 0 <= subscore <= SCORE_MAX):
            raise invalid_argument("expects score and subscore to be between 0 and 2^64-1")
        _, bucket = self._resident(id, expiry)
        return bucket.rank_if(owner, score, subscore) if bucket is not None else 1

    async def load_bucket(self, id: str, expiry: int = 0) -> int:
        """Bring a bucket's ranks into memory (a past period, for ``top``/``rank_of``); its size.
        An expired bucket is dropped again after ranks.EXPIRED_GRACE_SEC without use."""
        if not 0 <= expiry <= LAST_EXPIRY:
            raise invalid_argument("expects expiry to be unix seconds of a bucket's expiry, or 0")
        board = await self.board(id)
        if not self.ranked(board):
            raise LeaderboardRanksDisabled(id)
        return len(await self.load_ranks(board, expiry or board.current_expiry()))

    async def load_ranks(self, board: Leaderboard, expiry: int, *, force: bool = False) -> RankBucket:
        """A bucket's ranks, read from the database in batches unless in memory (or ``force``)."""
        key = (board.id, expiry)
        running = self._loads.get(key)
        if running is not None:
            return await asyncio.shield(running)
        resident = self.ranks.get(board.id, expiry)
        if resident is not None and not force:
            return resident
        future: asyncio.Future[RankBucket] = asyncio.get_running_loop().create_future()
        self._loads[key] = future
        self.ranks.begin_load(board.id, expiry)
        try:
            bucket = await self._read_bucket(board, expiry)
            future.set_result(bucket)
            return bucket
        except BaseException as exc:
            self.ranks.abandon_load(board.id, expiry)
            future.set_exception(exc)
            future.exception()  # marked retrieved: only waiters re-raise it
            raise
        finally:
            self._loads.pop(key, None)

    async def _read_bucket(self, board: Leaderboard, expiry: int) -> RankBucket:
        builder = BucketBuilder(board.descending, expiry)
        expiry_time = from_unix(expiry)
        after: tuple[int, int, str] | None = None
        while True:
            rows = await sql.bucket_batch(self.db, board.id, expiry_time, WARM_BATCH, after)
            add = builder.add
            for owner_bytes, score, subscore, created_us, num_score, username in rows:
                add(int.from_bytes(owner_bytes, "big"), score, subscore, make_stamp(created_us, num_score), username)
            if len(rows) < WARM_BATCH:
                return self.ranks.finish_load(builder, board.id)
            last_owner, last_score, last_subscore, *_ = rows[-1]
            after = (last_score, last_subscore, str(uuid.UUID(bytes=bytes(last_owner))))

    # --- retention ----------------------------------------------------------------------------

    async def delete_expired_buckets(self, id: str, before: datetime, batch_size: int = 5000) -> int:
        """Delete the records of buckets whose expiry is before ``before``, ``batch_size`` per
        statement (the no-reset bucket is never touched); the number of records deleted."""
        if batch_size < 1:
            raise invalid_argument("expects batch_size to be >= 1")
        await self.board(id)
        # Whole expired days of this board first (O(1) each), then what is left row by row.
        dropped = await partitions.drop_expired(self.db, id, before)
        if dropped:
            log.info("expired leaderboard partitions dropped", extra={"fields": {"board": id, "partitions": dropped}})
        total = sum(rows for _, rows in dropped)
        while True:
            deleted = await sql.delete_bucket_batch(self.db, id, before, batch_size)
            total += len(deleted)
            if len(deleted) < batch_size:
                break
            await asyncio.sleep(0)  # let requests in between batches
        cutoff = int(before.timestamp())
        self.drop_buckets_before(id, cutoff)
        self.publisher.publish(rank_sync.drop_event(id, cutoff))
        return total

    def drop_buckets_before(self, board_id: str, cutoff: int) -> None:
        for key in list(self.ranks.keys_of(board_id)):
            if 0 < key[1] < cutoff:
                self.ranks.drop(board_id, key[1])
