"""Stopping background tasks (cluster/tasks.py), also one whose cancellation was lost on the way,
as Python 3.11's asyncio.wait_for loses it when the awaited result arrives at the same moment."""

from __future__ import annotations

import asyncio

from nakama_py.cluster.tasks import cancel_and_wait, raise_if_cancelled


async def loses_its_first_cancel(rounds: list[int], checks: bool) -> None:
    lost = False
    while True:
        rounds.append(1)
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if lost:
                raise
            lost = True  # what wait_for does when the result is there too: go on as if not cancelled
        if checks:
            raise_if_cancelled()


async def test_a_task_that_lost_its_cancel_is_cancelled_again() -> None:
    rounds: list[int] = []
    task = asyncio.create_task(loses_its_first_cancel(rounds, checks=False))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(cancel_and_wait(task, recancel_after=0.2), 5.0)
    assert task.cancelled()
    assert len(rounds) > 10  # it did run on after the first cancel, until the second one


async def test_a_loop_that_checks_stops_at_the_lost_cancel() -> None:
    rounds: list[int] = []
    task = asyncio.create_task(loses_its_first_cancel(rounds, checks=True))
    await asyncio.sleep(0.05)
    # No second cancel within the bound: the loop itself stops in the round that lost the first one.
    await asyncio.wait_for(cancel_and_wait(task, recancel_after=60.0), 1.0)
    assert task.cancelled()


async def test_failures_of_stopped_tasks_are_theirs() -> None:
    async def fails() -> None:
        raise ValueError("logged by the task itself")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await cancel_and_wait(task, None)
    assert isinstance(task.exception(), ValueError)
