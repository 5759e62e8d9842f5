"""Firing the runtime's leaderboard-reset handler once per reset of each scheduled board,
whatever the number of server processes on the database and across restarts.

Every process runs a ResetScheduler. When a board's reset time comes, each process
tries to claim ``(board, reset)`` by inserting its row into
``nakama_py_leaderboard_reset`` with a lease; the insert succeeds for exactly one of
them, which runs the handler (renewing the lease while it runs) and marks the row
done. A claim whose lease ran out without being done - its process died mid-handler,
or the handler failed and gave the claim back for a later retry - may be claimed
again by any process. A handler can therefore run a second time only after a crash or
a failure, so handlers should be idempotent (the racing module's finalization is).

Catch-up: resets that came due while no server was running are fired, oldest first,
when one comes back; for each board they are counted from its last claimed reset, or
from its creation (never from before this database began recording resets, so an old
Nakama database does not replay its history). Boards without a reset schedule never
fire, and nothing is claimed while no handler is registered (as Nakama queues nothing
without a leaderboard reset function).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

from nakama_py.cluster.tasks import raise_if_cancelled
from nakama_py.core.leaderboard_schedule import parse_schedule
from nakama_py.core.leaderboard_types import Leaderboard, from_unix
from nakama_py.core.leaderboards import LeaderboardService, ResetHandler
from nakama_py.db import leaderboards as sql
from nakama_py.db.pool import Database

log = logging.getLogger("nakama_py.leaderboards")

LEASE_SEC = 30.0
POLL_SEC = 1.0
STALE_CHECK_SEC = 5.0
BOARD_REFRESH_SEC = 30.0
CATCH_UP_BATCH = 100
MAX_ATTEMPTS = 5
SHUTDOWN_GRACE_SEC = 10.0  # on shutdown, running handlers get this long to finish before they are cut off
RETRY_BASE_SEC = 5.0  # a failed handler is retried after 10 s, 20 s, 40 s, ... (at most 5 minutes)


class ResetScheduler:
    refreshes_boards = True  # re-reads every board now and then (one scheduler per process does)
    def __init__(self, db: Database, leaderboards: LeaderboardService, *, node: str | None = None,
                 lease_sec: float = LEASE_SEC, poll_sec: float = POLL_SEC, stale_check_sec: float = STALE_CHECK_SEC,
                 workers: int = 8, max_attempts: int = MAX_ATTEMPTS, retry_base_sec: float = RETRY_BASE_SEC) -> None:
        self.db = db
        self.leaderboards = leaderboards
        self.node = node or leaderboards.node
        self.lease_sec = lease_sec
        self.poll_sec = poll_sec
        self.stale_check_sec = stale_check_sec
        self.max_attempts = max_attempts
        self.retry_base_sec = retry_base_sec
        self._slots = asyncio.Semaphore(max(workers, 1))
        self._watermark: dict[str, int] = {}  # per board: the latest reset this process has dealt with
        self._since = 0  # unix seconds: resets before this are not ours to fire
        self._running: dict[str, asyncio.Task[None]] = {}
        self._next_due: dict[str, tuple[int, int]] = {}  # per board: (anchor, first reset after it)
        self._stopping = False

    async def run(self) -> None:
        """Run until cancelled."""
        while True:
            try:
                await self._prepare()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelled()
                log.warning("reset scheduler could not start; retrying", extra={"fields": {"error": str(exc)}})
                await asyncio.sleep(self.poll_sec)
        last_stale = last_refresh = time.monotonic()
        try:
            while True:
                try:
                    if self._handler() is not None:
                        self._fire_due(time.time())
                        if time.monotonic() - last_stale >= self.stale_check_sec:
                            last_stale = time.monotonic()
                            await self._retry_stale()
                    if self.refreshes_boards and time.monotonic() - last_refresh >= BOARD_REFRESH_SEC:
                        last_refresh = time.monotonic()
                        await self.leaderboards.refresh_boards()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    raise_if_cancelled()
                    log.warning("reset scheduler pass failed", extra={"fields": {"error": str(exc)}})
                raise_if_cancelled()  # a cancel the pool's wait lost (see cluster/tasks.py) ends the loop here
                await asyncio.sleep(self._sleep_time(time.time()))
        finally:
            # Let running handlers finish (a cut-off one is handed back, not left to its lease).
            self._stopping = True
            running = [t for t in self._running.values() if not t.done()]
            if running:
                await asyncio.wait(running, timeout=SHUTDOWN_GRACE_SEC)
            for task in running:
                task.cancel()
            for task in running:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _prepare(self) -> None:
        since = await sql.tracking_since(self.db)
        self._since = int(since.timestamp()) if since is not None else 0
        for board_id, reset in (await sql.last_resets(self.db)).items():
            self._watermark[board_id] = int(reset.timestamp())

    # --- what a subclass may change (scheduler/tournament_hooks.py fires tournament moments) ---

    def _handler(self) -> ResetHandler | None:
        return self.leaderboards.reset_handler

    def _next_moment(self, board: Leaderboard, now: float) -> int:
        """The board's first moment strictly after ``now``; 0 when none."""
        return board.next_reset(now)

    def _moments(self, board: Leaderboard, after: int, until: float, limit: int) -> list[int]:
        """Up to ``limit`` of the board's moments ``after < t <= until``, oldest first."""
        assert board.reset_schedule is not None
        return parse_schedule(board.reset_schedule).between(after, until, limit)

    def _scheduled(self) -> list[Leaderboard]:
        # Tournaments' resets belong to the tournament scheduler (scheduler/tournament_hooks.py).
        return [b for b in self.leaderboards.boards() if b.reset_schedule and b.tournament is None]

    def _sleep_time(self, now: float) -> float:
        upcoming = [self._next_moment(b, now) for b in self._scheduled()]
        due = min((t for t in upcoming if t), default=0)
        if due:
            return max(min(self.poll_sec, due - now), 0.01)
        return self.poll_sec

    def _fire_due(self, now: float) -> None:
        for board in self._scheduled():
            if board.id in self._running:
                continue  # that board's resets run one after another
            anchor = max(int(board.create_time.timestamp()), self._since, self._watermark.get(board.id, 0))
            due = self._next_due.get(board.id)
            if due is None or due[0] != anchor:  # the first reset after the anchor, worked out once
                due = self._next_due[board.id] = (anchor, self._next_moment(board, anchor))
            if not due[1] or due[1] > now:
                continue
            resets = self._moments(board, anchor, now, CATCH_UP_BATCH)
            if resets:
                self._start(board.id, resets)

    async def _retry_stale(self) -> None:
        by_board: dict[str, list[int]] = {}
        for board_id, reset in await sql.stale_resets(self.db, CATCH_UP_BATCH):
            by_board.setdefault(board_id, []).append(int(reset.timestamp()))
        mine = {board.id for board in self._scheduled()}
        for board_id, resets in by_board.items():
            # Claims of the other scheduler's boards (tournaments / leaderboards) are not ours to retry.
            if board_id not in self._running and board_id in mine:
                self._start(board_id, resets, advance=False)

    def _start(self, board_id: str, resets: list[int], *, advance: bool = True) -> None:
        task = asyncio.create_task(self._fire_board(board_id, resets, advance), name=f"reset:{board_id}")
        self._running[board_id] = task
        task.add_done_callback(lambda _: self._running.pop(board_id, None))

    async def _fire_board(self, board_id: str, resets: list[int], advance: bool) -> None:
        async with self._slots:
            for reset in resets:
                if self._stopping:
                    return
                try:
                    await self._fire(board_id, reset)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("leaderboard reset could not be fired", extra={"fields": {
                        "leaderboard_id": board_id, "reset": reset, "error": str(exc)}})
                    return  # not advanced: the next pass tries this reset again
                if advance:
                    self._watermark[board_id] = max(self._watermark.get(board_id, 0), reset)

    async def _fire(self, board_id: str, reset: int) -> None:
        handler = self._handler()
        if handler is None:
            raise RuntimeError("no reset handler")
        reset_time = from_unix(reset)
        board = self.leaderboards.known_board(board_id)
        if board is None:
            return  # deleted: its claims went with it
        attempt = await sql.claim_reset(self.db, board_id, reset_time, self.node, self.lease_sec)
        if attempt is None:
            return  # done already, or another process holds it
        if self.leaderboards.ranked(board):
            try:
                await self.leaderboards.load_bucket(board_id, reset)  # the finished period, for top()/rank_of()
            except Exception as exc:
                log.warning("could not load the ranks of a finished period",
                            extra={"fields": {"leaderboard_id": board_id, "reset": reset, "error": str(exc)}})
        heartbeat = asyncio.create_task(self._keep_lease(board_id, reset_time))
        error: str | None = None
        started = time.monotonic()
        try:
            await handler(board, reset)
        except asyncio.CancelledError:
            # Cut off (shutdown): give the claim back at once rather than after the lease.
            with contextlib.suppress(Exception):
                await asyncio.shield(sql.release_reset(self.db, board_id, reset_time, self.node, 0.0,
                                                       "interrupted by shutdown"))
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("leaderboard reset handler failed", exc_info=exc,
                      extra={"fields": {"leaderboard_id": board_id, "reset": reset, "attempt": attempt}})
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await heartbeat
        if error is not None and attempt < self.max_attempts:
            await sql.release_reset(self.db, board_id, reset_time, self.node,
                                    min(self.retry_base_sec * 2 ** attempt, 300.0), error)
            return
        await sql.finish_reset(self.db, board_id, reset_time, self.node, error)
        log.info("leaderboard reset fired", extra={"fields": {
            "leaderboard_id": board_id, "reset": reset, "attempt": attempt,
            "seconds": round(time.monotonic() - started, 3), "error": error}})

    async def _keep_lease(self, board_id: str, reset_time: datetime) -> None:
        while True:
            await asyncio.sleep(self.lease_sec / 3)
            try:
                if not await sql.extend_reset_lease(self.db, board_id, reset_time, self.node, self.lease_sec):
                    return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("could not extend a reset lease", extra={"fields": {"error": str(exc)}})
