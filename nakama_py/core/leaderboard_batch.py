"""Idempotent writes in batches: many ``write_record_once`` writes committed in one transaction.

For consumers that apply queued submissions (the racing module's streamed mode): one round trip (a
pipeline) and one commit (one WAL flush) for the whole batch. The statements run in owner order so
that two batches applied at once on two nodes lock rows in one order. Each write keeps its own rules
(receipt, operator, rate limit); a write that is rate limited is answered as such and the others go on.
If the transaction fails as a whole (a conflict with a concurrent writer of the same owner or key),
it is rolled back and every write of the batch is made on its own instead, through ``write_once``,
which settles those conflicts: the outcome is the same, only the commits differ.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nakama_py.core.leaderboard_types import WriteReceipt
from nakama_py.core.leaderboard_writes import RecordWriter
from nakama_py.db import leaderboards as sql
from nakama_py.db.errors import DatabaseError
from nakama_py.errors import NakamaError

log = logging.getLogger("nakama_py.leaderboards")


@dataclass(frozen=True, slots=True)
class OnceWriteItem:
    """One write of a batch (``leaderboard_record_write_once``'s arguments)."""

    owner_id: str
    key: str
    score: int
    subscore: int = 0
    username: str | None = None
    metadata: Mapping[str, Any] | None = None


async def write_once_batch(writer: RecordWriter, id: str, items: Sequence[OnceWriteItem], *, ttl_seconds: float,
                           rate_limit: tuple[int, float] | None, expiry: int | None,
                           ) -> list[WriteReceipt | NakamaError]:
    """Each item's receipt (``replayed`` when its key was used before) or its error (a RateLimitedError, an
    invalid item), in the items' order."""
    outcomes: list[WriteReceipt | NakamaError | None] = [None] * len(items)
    prepared = []
    for index, item in enumerate(items):
        try:
            board, period, write = await writer.prepare_once(id, item.owner_id, item.key, item.score, item.subscore,
                                                             item.username, item.metadata, ttl_seconds, rate_limit,
                                                             expiry)
        except NakamaError as exc:
            outcomes[index] = exc
            continue
        prepared.append((index, board, period, write))
    prepared.sort(key=lambda p: (p[3].owner_id, p[0]))
    results: list[sql.OnceResult | None] = []
    try:
        if prepared:  # one board: one operator and order for every statement
            board = prepared[0][1]
            results = await sql.write_once_many(writer.db, board.operator, board.descending,
                                                [write for _, _, _, write in prepared])
    except DatabaseError as exc:
        log.info("leaderboard batch rolled back; writing its items one by one",
                 extra={"fields": {"leaderboard_id": id, "items": len(prepared), "error": type(exc).__name__}})
        results = [None] * len(prepared)
    for (index, board, period, write), result in zip(prepared, results, strict=True):
        try:
            if result is None:  # rolled back, or the record changed under the statement: alone, with retries
                item = items[index]
                outcomes[index] = await writer.write_once(id, item.owner_id, item.key, item.score, item.subscore,
                                                          item.username, item.metadata, ttl_seconds, rate_limit,
                                                          period)
            else:
                outcomes[index] = writer.finish_once(board, period, write, result)
        except NakamaError as exc:
            outcomes[index] = exc
    return [outcome for outcome in outcomes if outcome is not None]
