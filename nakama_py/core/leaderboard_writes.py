"""Writing leaderboard records: Nakama's write and delete, and nakama-py's idempotent,
rate-limited ``write_record_once``.

Every write is one upsert statement (db/leaderboards.py) into the current bucket. The
record the database returns is put into the in-memory ranks at once (its rank is the
one answered) and, when it changed, published to the other server processes.

``write_record_once`` does its whole job in one statement: read a live receipt for the
key, count the owner's accepted writes in the rate window, write with the board's
operator, and store the receipt (the submitted values, the resulting record,
``updated`` and the rank). The rank is predicted from memory before the statement, so
the stored receipt is exactly what the first caller gets; if the record the statement
finds differs from what memory predicted, the statement counts the rank itself. The
receipt's primary key makes a concurrent duplicate fail, which rolls back its write,
and it then returns the winner's receipt.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import orjson

from nakama_py.core import rank_sync
from nakama_py.core.leaderboard_reads import valid_uuid
from nakama_py.core.leaderboard_types import (
    Leaderboard,
    LeaderboardRecord,
    WriteReceipt,
    from_unix,
    micros,
)
from nakama_py.core.node_sync import note_change
from nakama_py.core.ranks import RankStore, make_stamp, owner_int
from nakama_py.db import leaderboards as sql
from nakama_py.db import record_partitions as partitions
from nakama_py.db.errors import DatabaseError, ForeignKeyViolation, UniqueViolation, ValueRejected
from nakama_py.db.pool import Database
from nakama_py.errors import (
    LeaderboardAuthoritative,
    LeaderboardNotFound,
    NakamaError,
    RateLimitedError,
    internal,
    invalid_argument,
)
from nakama_py.leaderboard_enums import Operator, OperatorOverride

log = logging.getLogger("nakama_py.leaderboards")

WRITE_ERROR = "Error writing score to leaderboard."
DELETE_ERROR = "Error deleting score from leaderboard."
MAX_ATTEMPTS = 5
MAX_KEY_CHARS = 128
RECEIPT_PKEY = "nakama_py_leaderboard_receipt_pkey"
RECORD_PKEY = "leaderboard_record_pkey"


def check_runtime_write(id: str, owner_id: str, score: int, subscore: int) -> None:
    if not id:
        raise invalid_argument("expects a leaderboard ID string")
    if not valid_uuid(owner_id):
        raise invalid_argument("expects owner ID to be a valid identifier")
    if not isinstance(score, int) or score < 0:
        raise invalid_argument("expects score to be >= 0")
    if not isinstance(subscore, int) or subscore < 0:
        raise invalid_argument("expects subscore to be >= 0")


def predict(operator: Operator, desc: bool, current: tuple[int, int] | None, score: int,
            subscore: int) -> tuple[int, int]:
    """The (score, subscore) a write leaves, as the upsert computes it."""
    if current is None:
        return (0, 0) if operator is Operator.DECREMENT else (score, subscore)
    old_score, old_subscore = current
    if operator is Operator.BEST:
        pick = max if desc else min
        return pick(old_score, score), pick(old_subscore, subscore)
    if operator is Operator.SET:
        return score, subscore
    if operator is Operator.INCREMENT:
        return old_score + score, old_subscore + subscore
    return max(old_score - score, 0), max(old_subscore - subscore, 0)


def metadata_text(metadata: Mapping[str, Any] | str | None) -> str | None:
    if metadata is None or isinstance(metadata, str):
        return metadata
    return orjson.dumps(dict(metadata)).decode()


def write_failure(exc: DatabaseError) -> NakamaError:
    # A value out of range (a negative result, an overflow) is the caller's doing; anything else is logged.
    if not isinstance(exc, ValueRejected):
        log.error("leaderboard write failed", exc_info=exc)
    return internal(WRITE_ERROR)


def written_record(board_id: str, owner_id: str, row: sql.WrittenRow, expiry: int, rank: int) -> LeaderboardRecord:
    return LeaderboardRecord(board_id, owner_id, row.username, row.score, row.subscore, row.num_score,
                             row.max_num_score, orjson.loads(row.metadata), row.create_time, row.update_time,
                             from_unix(expiry) if expiry else None, rank)


def receipt_of(board_id: str, owner_id: str, row: sql.ReceiptRow, *, replayed: bool) -> WriteReceipt:
    expiry = int(row.expiry_time.timestamp())
    record = LeaderboardRecord(board_id, owner_id, row.username, row.score, row.subscore, row.num_score,
                               row.max_num_score, orjson.loads(row.metadata), row.record_create_time,
                               row.record_update_time, from_unix(expiry) if expiry else None, row.rank)
    return WriteReceipt(record, row.rank, row.submitted_score, row.submitted_subscore, row.updated, replayed)


class RecordWriter:
    def __init__(self, db: Database, board: Callable[[str], Awaitable[Leaderboard]],
                 ranked: Callable[[Leaderboard], bool], ranks: RankStore, publish: Callable[[rank_sync.Event], None],
                 board_gone: Callable[[str], None]) -> None:
        self.db = db
        self._board = board
        self._ranked = ranked
        self.ranks = ranks
        self._publish = publish
        self._board_gone = board_gone

    def _apply(self, board: Leaderboard, expiry: int, owner_id: str, score: int, subscore: int, num_score: int,
               create_time: datetime, username: str | None, updated: bool) -> int:
        """Put a record, as the database returned it, into the ranks; its rank there."""
        if not self._ranked(board):
            return 0
        owner = owner_int(owner_id)
        stamp = make_stamp(micros(create_time), num_score)
        bucket = self.ranks.write(board.id, expiry, board.descending, owner, score, subscore, stamp, username,
                                  create=True)
        if updated:
            self._publish(rank_sync.write_event(board.id, expiry, owner, score, subscore, stamp, username))
            note_change()
        return bucket.rank(owner) if bucket is not None else 0

    def record_written(self, board: Leaderboard, expiry: int, owner_id: str, row: sql.WrittenRow,
                       updated: bool) -> LeaderboardRecord:
        """A record some other write path (tournaments) stored: into the ranks, and back with its rank."""
        rank = self._apply(board, expiry, owner_id, row.score, row.subscore, row.num_score, row.create_time,
                           row.username, updated)
        return written_record(board.id, owner_id, row, expiry, rank)

    def record_deleted(self, board_id: str, expiry: int, owner_id: str, num_score: int,
                       create_time: datetime) -> None:
        """A record some other path (tournaments) deleted: out of the ranks, here and elsewhere."""
        self._forget(board_id, expiry, owner_id, num_score, create_time)

    # --- Nakama's write and delete -------------------------------------------------------

    async def write(self, id: str, owner_id: str, username: str | None, score: int, subscore: int,
                    metadata: Mapping[str, Any] | str | None, override_operator: OperatorOverride | int,
                    caller: str | None) -> LeaderboardRecord:
        if caller is None:
            check_runtime_write(id, owner_id, score, subscore)
        board = await self._board(id)
        if board.authoritative and caller is not None:
            raise LeaderboardAuthoritative("submissions")
        try:
            chosen = OperatorOverride(override_operator).operator
        except ValueError:
            if caller is None:
                raise invalid_argument("expects override operator to be 'best', 'set', 'incr' or 'decr'") from None
            raise internal(WRITE_ERROR) from None
        operator = board.operator if chosen is None else chosen
        expiry = board.current_expiry()
        write = sql.RecordWrite(id, owner_id, username or None, score, subscore, metadata_text(metadata),
                                from_unix(expiry))
        row, updated = await self._upsert(board, operator, write)
        rank = self._apply(board, expiry, owner_id, row.score, row.subscore, row.num_score, row.create_time,
                           row.username, updated)
        return written_record(id, owner_id, row, expiry, rank)

    async def _upsert(self, board: Leaderboard, operator: Operator,
                      write: sql.RecordWrite) -> tuple[sql.WrittenRow, bool]:
        """(the record after the write, whether the write changed it)."""
        await partitions.ensure(self.db, write.expiry)
        for _ in range(MAX_ATTEMPTS):
            try:
                row = await sql.upsert_record(self.db, operator, board.descending, write)
                if row is not None:
                    return row, True
                row = await sql.read_record(self.db, write.board_id, write.expiry, write.owner_id)
                if row is not None:
                    return row, False
                # deleted between the two statements: write again
            except UniqueViolation as exc:
                if exc.constraint != RECORD_PKEY:
                    raise write_failure(exc) from None
                # A concurrent first write of the same record took the index entry: write on top of it
                # (Nakama drops such a write as "unchanged"; that would lose an increment).
            except ForeignKeyViolation:
                self._board_gone(board.id)
                raise LeaderboardNotFound() from None
            except DatabaseError as exc:
                raise write_failure(exc) from None
        raise internal(WRITE_ERROR)

    async def delete(self, id: str, owner_id: str, caller: str | None) -> None:
        if caller is None:
            if not id:
                raise invalid_argument("expects a leaderboard ID string")
            if not valid_uuid(owner_id):
                raise invalid_argument("expects owner ID to be a valid identifier")
        board = await self._board(id)
        if board.authoritative and caller is not None:
            raise LeaderboardAuthoritative("deletions")
        expiry = board.current_expiry()
        try:
            deleted = await sql.delete_record(self.db, id, from_unix(expiry), owner_id)
        except DatabaseError as exc:
            log.error("leaderboard record delete failed", exc_info=exc)
            raise internal(DELETE_ERROR) from None
        if deleted is not None and self._ranked(board):
            self._forget(id, expiry, owner_id, deleted.num_score, deleted.create_time)

    def _forget(self, board_id: str, expiry: int, owner_id: str, num_score: int, create_time: datetime) -> None:
        owner = owner_int(owner_id)
        stamp = make_stamp(micros(create_time), num_score)
        self.ranks.delete(board_id, expiry, owner, stamp)
        self._publish(rank_sync.delete_event(board_id, expiry, owner, stamp))
        note_change()

    async def delete_owner(self, owner_id: str) -> int:
        deleted = await sql.delete_owner_records(self.db, owner_id)
        for record in deleted:
            self._forget(record.leaderboard_id, int(record.expiry_time.timestamp()), owner_id, record.num_score,
                         record.create_time)
        return len(deleted)

    # --- idempotent writes -----------------------------------------------------------------

    async def prepare_once(self, id: str, owner_id: str, key: str, score: int, subscore: int, username: str | None,
                           metadata: Mapping[str, Any] | None, ttl_seconds: float,
                           rate_limit: tuple[int, float] | None, expiry: int | None = None,
                           ) -> tuple[Leaderboard, int, sql.OnceWrite]:
        """Check an idempotent write and build its statement parameters: (board, period expiry, write).
        ``expiry`` (unix seconds) picks the period; None is the current one."""
        check_runtime_write(id, owner_id, score, subscore)
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_CHARS:
            raise invalid_argument(f"expects an idempotency key of 1 to {MAX_KEY_CHARS} characters")
        if not isinstance(ttl_seconds, (int, float)) or ttl_seconds <= 0:
            raise invalid_argument("expects ttl_seconds to be > 0")
        rate_n: int | None = None
        rate_window: float | None = None
        if rate_limit is not None:
            rate_n, rate_window = rate_limit
            if (not isinstance(rate_n, int) or rate_n < 1 or not isinstance(rate_window, (int, float))
                    or rate_window <= 0):
                raise invalid_argument("expects rate_limit to be (count >= 1, window_seconds > 0)")
        board = await self._board(id)
        if expiry is None:
            expiry = board.current_expiry()
        predicted_score, predicted_subscore, predicted_rank = self._prediction(board, expiry, owner_id, score,
                                                                                subscore)
        write = sql.OnceWrite(
            board_id=id, owner_id=owner_id, idempotency_key=key, username=username or None, score=score,
            subscore=subscore, metadata=metadata_text(metadata), expiry=from_unix(expiry), ranked=self._ranked(board),
            keep_sec=float(max(ttl_seconds, rate_window or 0)), rate_count=rate_n,
            rate_window_sec=float(rate_window) if rate_window is not None else None,
            predicted_score=predicted_score, predicted_subscore=predicted_subscore, predicted_rank=predicted_rank)
        await partitions.ensure(self.db, write.expiry)  # the period's partition (db/record_partitions.py)
        return board, expiry, write

    def finish_once(self, board: Leaderboard, expiry: int, write: sql.OnceWrite, result: sql.OnceResult,
                    ) -> WriteReceipt:
        """A committed idempotent write's receipt (raising RateLimitedError when it was limited); a
        write made now enters this process's ranks."""
        if result.receipt is None:  # rate limited
            retry_after = max(result.retry_after_sec or 0.0, 0.0)
            raise RateLimitedError(f"Too many score submissions: at most {write.rate_count} per "
                                   f"{write.rate_window_sec:g} seconds. Retry in {math.ceil(retry_after)} seconds.",
                                   retry_after)
        receipt = receipt_of(write.board_id, write.owner_id, result.receipt,
                             replayed=result.outcome is sql.OnceOutcome.REPLAYED)
        if result.outcome is sql.OnceOutcome.WRITTEN:
            record = receipt.record
            self._apply(board, expiry, write.owner_id, record.score, record.subscore, record.num_score,
                        record.create_time, record.username, receipt.updated)
        return receipt

    async def read_once(self, id: str, owner_id: str, key: str) -> WriteReceipt | None:
        """The live receipt of an idempotent write, or None (never made, or forgotten past its ttl)."""
        stored = await sql.read_receipt(self.db, id, owner_id, key)
        return receipt_of(id, owner_id, stored.receipt, replayed=True) if stored is not None and stored.live else None

    async def write_once(self, id: str, owner_id: str, key: str, score: int, subscore: int, username: str | None,
                         metadata: Mapping[str, Any] | None, ttl_seconds: float,
                         rate_limit: tuple[int, float] | None, expiry: int | None = None) -> WriteReceipt:
        board, expiry, write = await self.prepare_once(id, owner_id, key, score, subscore, username, metadata,
                                                       ttl_seconds, rate_limit, expiry)
        for _ in range(MAX_ATTEMPTS):
            try:
                result = await sql.write_once(self.db, board.operator, board.descending, write)
            except UniqueViolation as exc:
                if exc.constraint == RECEIPT_PKEY:
                    # A concurrent call with this key won (ours rolled back), or an expired receipt
                    # is still stored: return the winner's, or clear the dead one and go again.
                    stored = await sql.read_receipt(self.db, id, owner_id, key)
                    if stored is not None and stored.live:
                        return receipt_of(id, owner_id, stored.receipt, replayed=True)
                    if stored is not None:
                        await sql.delete_dead_receipt(self.db, id, owner_id, key)
                    continue
                if exc.constraint == RECORD_PKEY:
                    continue
                raise write_failure(exc) from None
            except ForeignKeyViolation:
                self._board_gone(id)
                raise LeaderboardNotFound() from None
            except DatabaseError as exc:
                raise write_failure(exc) from None
            if result is None:
                continue  # the record changed under the statement in a way it could not see: again
            return self.finish_once(board, expiry, write, result)
        raise internal(WRITE_ERROR)

    def _prediction(self, board: Leaderboard, expiry: int, owner_id: str, score: int,
                    subscore: int) -> tuple[int, int, int]:
        """The (score, subscore, rank) the write should leave, from memory; scores of -1 when memory
        cannot say (the statement then counts the rank itself)."""
        unknown = (-1, -1, 0)
        if not self._ranked(board):
            return unknown
        bucket = self.ranks.get(board.id, expiry)
        if bucket is None:
            if (board.id, expiry) in self.ranks.loading:
                return unknown
            bucket = self.ranks.ensure(board.id, expiry, board.descending)
        owner = owner_int(owner_id)
        new_score, new_subscore = predict(board.operator, board.descending, bucket.values(owner), score, subscore)
        return new_score, new_subscore, bucket.rank_if(owner, new_score, new_subscore)

    async def purge_receipts(self, batch_size: int) -> int:
        if batch_size < 1:
            raise invalid_argument("expects batch_size to be >= 1")
        total = 0
        while True:
            count = await sql.purge_receipts(self.db, batch_size)
            total += count
            if count < batch_size:
                return total
