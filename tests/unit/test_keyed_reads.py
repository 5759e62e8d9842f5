"""Concurrent keyed reads share one query: an idle reader sends at once, reads arriving while queries
run go together in the next one, a read never joins a query sent before it was asked, and a failed
query fails every read of its group (and only those)."""

from __future__ import annotations

import asyncio

import pytest

from nakama_py.db.keyed_reads import KeyedReads


class Table:
    """A load function over a dict, recording each query's keys; ``gate`` holds queries until set."""

    def __init__(self, rows: dict[str, int]) -> None:
        self.rows = rows
        self.queries: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next = False
        self.started = asyncio.Event()  # set once a query has read its rows

    async def load(self, keys: list[str]) -> dict[str, int]:
        self.queries.append(keys)
        snapshot = {key: self.rows[key] for key in keys if key in self.rows}  # read when the query starts
        self.started.set()
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database gone")
        return snapshot


async def test_an_idle_reader_sends_at_once_and_a_missing_row_is_none() -> None:
    table = Table({"a": 1})
    reads = KeyedReads(table.load)
    assert await reads.get("a") == 1
    assert await reads.get("zz") is None
    assert table.queries == [["a"], ["zz"]]


async def test_reads_arriving_while_queries_run_share_the_next_query() -> None:
    table = Table({f"k{i}": i for i in range(50)})
    reads = KeyedReads(table.load, max_in_flight=1)
    table.gate.clear()
    first = asyncio.create_task(reads.get("k0"))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(reads.get(f"k{i}")) for i in (1, 2, 3, 3, 49)]
    await asyncio.sleep(0)
    table.gate.set()
    assert await first == 0
    assert [await task for task in rest] == [1, 2, 3, 3, 49]
    assert table.queries == [["k0"], ["k1", "k2", "k3", "k49"]]  # one query for the five, the key once


async def test_a_read_never_joins_a_query_sent_before_it_was_asked() -> None:
    table = Table({"a": 1})
    reads = KeyedReads(table.load, max_in_flight=1)
    table.gate.clear()
    stale = asyncio.create_task(reads.get("a"))
    await table.started.wait()  # the first query has read its rows
    table.rows["a"] = 2  # a write committed after the first query started, before the second read
    fresh = asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0)
    table.gate.set()
    assert (await stale, await fresh) == (1, 2)


async def test_a_failed_query_fails_its_group_only() -> None:
    table = Table({"a": 1, "b": 2})
    reads = KeyedReads(table.load, max_in_flight=1)
    table.gate.clear()
    table.fail_next = True
    failing = asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0)
    after = asyncio.create_task(reads.get("b"))
    await asyncio.sleep(0)
    table.gate.set()
    with pytest.raises(RuntimeError, match="database gone"):
        await failing
    assert await after == 2


async def test_groups_are_bounded() -> None:
    table = Table({str(i): i for i in range(10)})
    reads = KeyedReads(table.load, max_batch=4, max_in_flight=1)
    table.gate.clear()
    tasks = [asyncio.create_task(reads.get(str(i))) for i in range(10)]
    await asyncio.sleep(0)
    table.gate.set()
    assert [await task for task in tasks] == list(range(10))
    assert [len(keys) for keys in table.queries] == [1, 4, 4, 1]
