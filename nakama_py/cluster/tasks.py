"""Stopping background tasks, also those whose cancellation was lost on the way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger("nakama_py.tasks")

# A cancellation can be lost: Python 3.11's asyncio.wait_for (psycopg_pool waits for a connection
# with it) returns the result instead when both arrive together, and a loop would then run forever.
# Stragglers are cancelled again after this long, longer than any task's own graceful stop
# (the reset scheduler gives running handlers 10 s).
RECANCEL_AFTER_SEC = 12.0


def raise_if_cancelled() -> None:
    """In a background loop (before it sleeps, and where it logs an error and goes on): stop when a
    cancellation was requested and lost on the way."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None, recancel_after: float = RECANCEL_AFTER_SEC) -> None:
    """Cancel the tasks and wait until they are done; their own failures are theirs (already logged)."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    pending = {task for task in running if not task.done()}
    while pending:
        _, pending = await asyncio.wait(pending, timeout=recancel_after)
        for task in pending:
            log.warning("task %s still running after it was cancelled; cancelling it again", task.get_name(),
                        extra={"fields": {"task": task.get_name()}})
            task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()
