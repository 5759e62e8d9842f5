"""``nk.leaderboard_*``: boards, records, and ranks from memory.

Read-your-writes: the reads first wait until this process has applied the latest leaderboard
writes of the call's session user, whichever worker process took them (core/write_marks.py).
Once per call (runtime/call_scope.py), and only when behind; calls without a session user,
and RPCs that read no leaderboard, never wait.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nakama_py.core.leaderboard_batch import OnceWriteItem
from nakama_py.core.leaderboards import BucketNotLoaded, LeaderboardService
from nakama_py.errors import NakamaError, invalid_argument
from nakama_py.leaderboard_enums import OperatorOverride
from nakama_py.runtime import type_conversions as to_public
from nakama_py.runtime.call_scope import CURRENT, tracked

if TYPE_CHECKING:
    from nakama_py.runtime.types import Leaderboard, LeaderboardRecord, RankEntry, RecordList, TopList, WriteReceipt

def _override(value: int | str | None) -> OperatorOverride | int:
    if isinstance(value, str):
        try:
            return OperatorOverride.parse(value)
        except ValueError:
            raise invalid_argument(f"invalid override operator {value!r}: use best, set, incr or decr") from None
    return OperatorOverride.NO_OVERRIDE if value is None else int(value)


class LeaderboardCalls:
    _leaderboards: LeaderboardService

    @tracked
    async def leaderboard_create(self, id: str, authoritative: bool = False, sort_order: str | int = "desc",
                                 operator: str | int = "best", reset_schedule: str | None = None,
                                 metadata: Mapping[str, Any] | None = None, enable_ranks: bool = True,
                                 ) -> Leaderboard:
        """Create a leaderboard, or return the existing one with that id (idempotent)."""
        return to_public.leaderboard(await self._leaderboards.create(
            id, authoritative=authoritative, sort_order=sort_order, operator=operator,
            reset_schedule=reset_schedule or None, metadata=dict(metadata or {}), enable_ranks=enable_ranks))

    @tracked
    async def leaderboard_delete(self, id: str) -> None:
        await self._leaderboards.delete(id)

    @tracked
    async def leaderboard_list(self, limit: int = 10, cursor: str | None = None,
                               ) -> tuple[list[Leaderboard], str | None]:
        boards, next_cursor = await self._leaderboards.list_boards(limit, cursor or None)
        return [to_public.leaderboard(board) for board in boards], next_cursor

    @tracked
    async def leaderboards_get_id(self, ids: Sequence[str]) -> list[Leaderboard]:
        return [to_public.leaderboard(board) for board in await self._leaderboards.get(list(ids))]

    @tracked
    async def leaderboard_record_write(self, id: str, owner_id: str, username: str | None = None, score: int = 0,
                                       subscore: int = 0, metadata: Mapping[str, Any] | None = None,
                                       override_operator: int | str | None = None) -> LeaderboardRecord:
        """Write a score, bypassing the authoritative check. ``override_operator``: best/set/incr/decr."""
        return await self._leaderboards.write_record(
            id, owner_id, username=username or None, score=score, subscore=subscore,
            metadata=dict(metadata) if metadata is not None else None,
            override_operator=_override(override_operator), caller=None)

    @tracked
    async def leaderboard_records_list(self, id: str, owner_ids: Sequence[str] | None = None, limit: int = 100,
                                       cursor: str | None = None, expiry: int | None = None) -> RecordList:
        """A page of records (limit 0-10000; 0 returns only the owners' records) of the current
        period, or of the period that ends at ``expiry`` (unix seconds)."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (module docstring)
            scope.catch_up_for = None
        return await self._leaderboards.list_records(
            id, owner_ids=list(owner_ids) if owner_ids is not None else None, limit=limit, cursor=cursor or None,
            expiry=expiry or 0, caller=None)

    @tracked
    async def leaderboard_records_haystack(self, id: str, owner_id: str, limit: int = 10, cursor: str | None = None,
                                           expiry: int | None = None) -> RecordList:
        """The records around ``owner_id``."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (module docstring)
            scope.catch_up_for = None
        return await self._leaderboards.haystack(id, owner_id, limit=limit, cursor=cursor or None,
                                                       expiry=expiry or 0)

    @tracked
    async def leaderboard_record_delete(self, id: str, owner_id: str) -> None:
        await self._leaderboards.delete_record(id, owner_id, caller=None)

    @tracked
    async def leaderboard_record_write_once(self, id: str, owner_id: str, key: str, *, score: int,
                                            subscore: int = 0, username: str | None = None,
                                            metadata: Mapping[str, Any] | None = None, ttl_seconds: int = 3600,
                                            rate_limit: tuple[int, int] | None = None,
                                            expiry: int | None = None) -> WriteReceipt:
        """An idempotent write: the first call with ``(id, owner_id, key)`` writes; later calls within
        ``ttl_seconds`` return its receipt (``replayed=True``). ``rate_limit=(n, window_seconds)``
        caps accepted writes per owner and raises ``RateLimitedError`` beyond it. ``expiry`` (unix
        seconds) writes into the period ending then instead of the current one."""
        return await self._leaderboards.write_record_once(
            id, owner_id, key, score=score, subscore=subscore, username=username or None,
            metadata=dict(metadata) if metadata is not None else None, ttl_seconds=ttl_seconds,
            rate_limit=rate_limit, expiry=expiry)

    @tracked
    async def leaderboard_records_write_once(self, id: str, writes: Sequence[Mapping[str, Any]], *,
                                             ttl_seconds: int = 3600, rate_limit: tuple[int, int] | None = None,
                                             expiry: int | None = None) -> list[WriteReceipt | NakamaError]:
        """``leaderboard_record_write_once`` for many writes (each a dict of ``owner_id``, ``key``, ``score``
        and optionally ``subscore``, ``username``, ``metadata``), committed in one transaction. The answer
        holds, in order, each write's receipt or its error (``RateLimitedError``, a bad write): one
        write's refusal does not stop the others."""
        items = [OnceWriteItem(str(w["owner_id"]), str(w["key"]), int(w["score"]), int(w.get("subscore", 0)),
                               w.get("username") or None,
                               dict(w["metadata"]) if w.get("metadata") is not None else None) for w in writes]
        return await self._leaderboards.write_records_once(id, items, ttl_seconds=ttl_seconds,
                                                           rate_limit=rate_limit, expiry=expiry)

    @tracked
    async def leaderboard_record_write_once_get(self, id: str, owner_id: str, key: str) -> WriteReceipt | None:
        """The receipt of ``leaderboard_record_write_once(id, owner_id, key)`` (``replayed=True``) while it is
        kept, or None: never written (or not yet, for a queued write), or forgotten past its ttl."""
        return await self._leaderboards.read_record_once(id, owner_id, key)

    @tracked
    async def leaderboard_top(self, id: str, limit: int, expiry: int = 0) -> TopList:
        """The best ``limit`` entries of the current period, or of the period that ends at ``expiry``
        (unix seconds), from memory: no database round trip once the period's ranks are loaded
        (the current period's are, once read at start-up, meanwhile the database answers; a past one is
        read on first use)."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (module docstring)
            scope.catch_up_for = None
        # A past period is read into memory once; the current one, while still warming at start-up,
        # is answered by the database.
        return await self._leaderboards.read_top(id, limit, expiry)

    @tracked
    async def leaderboard_rank(self, id: str, owner_id: str, expiry: int = 0) -> RankEntry | None:
        """An owner's rank, score and subscore in a period, from memory like ``leaderboard_top``;
        None when the owner has no record there."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (module docstring)
            scope.catch_up_for = None
        return await self._leaderboards.read_rank(id, owner_id, expiry)

    @tracked
    async def leaderboard_rank_if(self, id: str, owner_id: str, score: int, subscore: int = 0,
                                  expiry: int = 0) -> int:
        """The rank a record of ``owner_id`` with ``score`` and ``subscore`` would have in a period (the
        owner's own record, if any, left out): 1 + the records ahead of it in the board's order, from
        memory like ``leaderboard_top``. With an owner who has no record there, the records strictly
        better than that score: what a merge of several boards' ranks adds up."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (module docstring)
            scope.catch_up_for = None
        try:
            return self._leaderboards.rank_if(id, owner_id, score, subscore, expiry)
        except BucketNotLoaded:
            await self._leaderboards.load_bucket(id, expiry)
            return self._leaderboards.rank_if(id, owner_id, score, subscore, expiry)

    @tracked
    async def leaderboard_ranks_load(self, id: str, expiry: int = 0) -> int:
        """Read the ranks of the period that ends at ``expiry`` into memory now (``leaderboard_top``
        and ``leaderboard_rank`` would on first use); the number of records in that period."""
        return await self._leaderboards.load_bucket(id, expiry)

    @tracked
    async def leaderboard_records_list_cursor_from_rank(self, id: str, rank: int, expiry: int = 0) -> str:
        """A ``leaderboard_records_list`` cursor that starts the page at ``rank``."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (module docstring)
            scope.catch_up_for = None
        return await self._leaderboards.cursor_from_rank(id, rank, expiry)

    @tracked
    async def leaderboard_ranks_disable(self, id: str) -> None:
        await self._leaderboards.disable_ranks(id)

    @tracked
    async def leaderboard_records_delete_expired(self, id: str, before: datetime | int,
                                                 batch_size: int = 5000) -> int:
        """Delete the records of the periods that ended before ``before`` (a datetime or unix
        seconds), ``batch_size`` at a time; the number of records deleted."""
        moment = before if isinstance(before, datetime) else datetime.fromtimestamp(before, UTC)
        return await self._leaderboards.delete_expired_buckets(id, moment, batch_size)

    @tracked
    async def leaderboard_record_write_once_count(self, id: str, expiry: int | None = None) -> int:
        """How many ``leaderboard_record_write_once`` keys the board remembers; with ``expiry`` (the
        unix seconds a period ends), how many of those writes were accepted into that period."""
        return await self._leaderboards.count_receipts(id, expiry=expiry or 0)

    @tracked
    async def leaderboard_record_write_once_purge(self, batch_size: int = 5000) -> int:
        """Forget the ``leaderboard_record_write_once`` keys past their ``ttl_seconds`` (of every
        board), ``batch_size`` at a time; how many were forgotten."""
        return await self._leaderboards.purge_expired_receipts(batch_size)
