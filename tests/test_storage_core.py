"""StorageService against the real database: Nakama's versions, conditional writes,
permissions, system owner, batches, deletes, validation and listings."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from psycopg.pq import TransactionStatus

from nakama_py.core.storage import (
    SYSTEM_USER_ID,
    StorageObject,
    StorageObjectId,
    StorageService,
    StorageWrite,
)
from nakama_py.core.storage_rules import (
    INVALID_LIMIT,
    INVALID_READ,
    INVALID_USER_ID,
    INVALID_WRITE,
    MISSING_COLLECTION_OR_KEY,
    NAME_TOO_LONG,
    NAME_UNSTORABLE,
    NOT_AN_OBJECT,
    REJECTED_DELETE,
    REJECTED_PERMISSION,
    REJECTED_VERSION,
    UNKNOWN_OWNER,
    VALUE_HAS_NUL,
)
from nakama_py.db.pool import Database
from nakama_py.errors import NakamaError
from nakama_py.state import ServerState
from tests.support import users

MALFORMED = "Malformed cursor was used."


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def fresh() -> str:
    """A collection no other test touches (the database is shared by the test session)."""
    return "c" + uuid.uuid4().hex[:12]


async def rejects(message: str, coro: Any) -> None:
    with pytest.raises(NakamaError) as info:
        await coro
    assert (info.value.message, info.value.code) == (message, 3)


@pytest.fixture
def storage(state: ServerState) -> StorageService:
    return state.storage


async def read_one(storage: StorageService, collection: str, key: str, user_id: str | None,
                   caller: str | None = None) -> StorageObject | None:
    found = await storage.read([StorageObjectId(collection, key, user_id)], caller=caller)
    return found[0] if found else None


# --- versions and values ---------------------------------------------------------

async def test_version_is_md5_of_submitted_text_and_value_is_database_json(storage: StorageService,
                                                                          alice: users.TestUser) -> None:
    col = fresh()
    text = '{"b":2,   "a":[1,2]}'
    [ack] = await storage.write([StorageWrite(col, "k", text)], caller=alice.user_id)
    assert ack.version == md5(text)
    assert (ack.collection, ack.key, ack.user_id) == (col, "k", alice.user_id)
    obj = await read_one(storage, col, "k", alice.user_id, alice.user_id)
    assert obj is not None
    assert obj.value == '{"a": [1, 2], "b": 2}'  # JSONB's normal form, not the submitted text
    assert obj.version == md5(text)  # kept, not recomputed from the normal form
    assert (obj.permission_read, obj.permission_write) == (1, 1)
    assert obj.create_time == ack.create_time and obj.update_time == ack.update_time


async def test_value_must_be_a_json_object(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    for bad in ["[1,2]", '"text"', "12", "true", "null", "{", '{"a":1} x', "{'a':1}", '{"a":NaN}', " [ ]"]:
        await rejects(NOT_AN_OBJECT, storage.write([StorageWrite(col, "k", bad)], caller=alice.user_id))
    # Valid JSON that orjson alone would refuse, and leading blanks, are accepted like Nakama does.
    acks = await storage.write([StorageWrite(col, "big", '{"n": 1e400}'), StorageWrite(col, "ws", ' \n {"a":1}')],
                               caller=alice.user_id)
    assert [a.key for a in acks] == ["big", "ws"]
    # JSON the database cannot store is a 400, never a database error.
    await rejects(NOT_AN_OBJECT, storage.write([StorageWrite(col, "s", '{"a":"\\ud800"}')], caller=alice.user_id))
    await rejects(VALUE_HAS_NUL, storage.write([StorageWrite(col, "n", '{"a":"\\u0000"}')], caller=alice.user_id))
    assert await read_one(storage, col, "n", alice.user_id) is None


async def test_collection_key_and_value_must_be_set(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    for write in [StorageWrite("", "k", "{}"), StorageWrite(col, "", "{}"), StorageWrite(col, "k", "")]:
        await rejects(MISSING_COLLECTION_OR_KEY, storage.write([write], caller=alice.user_id))
    await rejects(MISSING_COLLECTION_OR_KEY, storage.read([StorageObjectId("", "k")], caller=alice.user_id))
    await rejects(MISSING_COLLECTION_OR_KEY, storage.delete([StorageObjectId(col, "")], caller=alice.user_id))


async def test_names_longer_than_the_column_are_a_clear_400(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    await rejects(NAME_TOO_LONG, storage.write([StorageWrite(col, "k" * 129, "{}")], caller=alice.user_id))
    await rejects(NAME_TOO_LONG, storage.write([StorageWrite("c" * 129, "k", "{}")], caller=None))
    await rejects(NAME_UNSTORABLE, storage.write([StorageWrite(col, "a\x00b", "{}")], caller=alice.user_id))
    [ack] = await storage.write([StorageWrite(col, "é" * 128, "{}")], caller=alice.user_id)  # 128 characters fit
    assert ack.key == "é" * 128
    # Such names can name no object: reads find nothing, client deletes are "not found".
    assert await storage.read([StorageObjectId(col, "k" * 129, alice.user_id)], caller=alice.user_id) == []
    await rejects(REJECTED_DELETE, storage.delete([StorageObjectId(col, "k" * 129)], caller=alice.user_id))
    await storage.delete([StorageObjectId(col, "k" * 129)], caller=None)
    assert await storage.list_objects("c" * 129, caller=alice.user_id) == ([], None)


async def test_permission_values_are_checked(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    for read in (-1, 3):
        await rejects(INVALID_READ, storage.write([StorageWrite(col, "k", "{}", permission_read=read)],
                                                  caller=alice.user_id))
    for write in (-1, 2):
        await rejects(INVALID_WRITE, storage.write([StorageWrite(col, "k", "{}", permission_write=write)],
                                                   caller=None))


# --- conditional writes ----------------------------------------------------------

async def test_last_write_wins_and_unchanged_rows_keep_their_times(storage: StorageService,
                                                                   alice: users.TestUser) -> None:
    col = fresh()
    [first] = await storage.write([StorageWrite(col, "k", '{"v":1}')], caller=alice.user_id)
    [same] = await storage.write([StorageWrite(col, "k", '{"v":1}')], caller=alice.user_id)
    assert same.version == first.version
    assert (same.create_time, same.update_time) == (first.create_time, first.update_time)
    [changed] = await storage.write([StorageWrite(col, "k", '{"v":2}')], caller=alice.user_id)
    assert changed.version == md5('{"v":2}')
    assert changed.create_time == first.create_time and changed.update_time > first.update_time
    # New permissions alone are a change too.
    [public] = await storage.write([StorageWrite(col, "k", '{"v":2}', permission_read=2)], caller=alice.user_id)
    assert public.update_time > changed.update_time
    obj = await read_one(storage, col, "k", alice.user_id)
    assert obj is not None and obj.permission_read == 2 and obj.value == '{"v": 2}'


async def test_create_only(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    [ack] = await storage.write([StorageWrite(col, "k", '{"v":1}', version="*")], caller=alice.user_id)
    assert ack.version == md5('{"v":1}')
    await rejects(REJECTED_VERSION, storage.write([StorageWrite(col, "k", '{"v":2}', version="*")],
                                                  caller=alice.user_id))
    await rejects(REJECTED_VERSION, storage.write([StorageWrite(col, "k", '{"v":2}', user_id=alice.user_id,
                                                                version="*")], caller=None))
    obj = await read_one(storage, col, "k", alice.user_id)
    assert obj is not None and obj.value == '{"v": 1}'


async def test_if_match(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    [v1] = await storage.write([StorageWrite(col, "k", '{"v":1}')], caller=alice.user_id)
    [v2] = await storage.write([StorageWrite(col, "k", '{"v":2}', version=v1.version)], caller=alice.user_id)
    assert v2.version == md5('{"v":2}')
    # The old version no longer matches, for clients and for the runtime.
    await rejects(REJECTED_VERSION, storage.write([StorageWrite(col, "k", '{"v":3}', version=v1.version)],
                                                  caller=alice.user_id))
    await rejects(REJECTED_VERSION, storage.write([StorageWrite(col, "k", '{"v":3}', user_id=alice.user_id,
                                                                version=v1.version)], caller=None))
    # A version for an object that does not exist is rejected too.
    await rejects(REJECTED_VERSION, storage.write([StorageWrite(col, "missing", "{}", version=v1.version)],
                                                  caller=alice.user_id))
    obj = await read_one(storage, col, "k", alice.user_id)
    assert obj is not None and obj.version == v2.version


async def test_client_cannot_update_an_object_with_write_permission_0(storage: StorageService,
                                                                      alice: users.TestUser) -> None:
    col = fresh()
    [locked] = await storage.write([StorageWrite(col, "k", '{"v":1}', permission_write=0)], caller=alice.user_id)
    await rejects(REJECTED_PERMISSION, storage.write([StorageWrite(col, "k", '{"v":2}')], caller=alice.user_id))
    # Even resubmitting the identical object is refused, and so is a matching if-match.
    await rejects(REJECTED_PERMISSION, storage.write([StorageWrite(col, "k", '{"v":1}', permission_write=0)],
                                                     caller=alice.user_id))
    await rejects(REJECTED_PERMISSION, storage.write([StorageWrite(col, "k", '{"v":2}', version=locked.version)],
                                                     caller=alice.user_id))
    # Create-only reports the object's existence, not the permission.
    await rejects(REJECTED_VERSION, storage.write([StorageWrite(col, "k", '{"v":2}', version="*")],
                                                  caller=alice.user_id))
    # The runtime bypasses the permission.
    [ack] = await storage.write([StorageWrite(col, "k", '{"v":9}', user_id=alice.user_id, version=locked.version,
                                              permission_write=0)], caller=None)
    obj = await read_one(storage, col, "k", alice.user_id)
    assert obj is not None and obj.value == '{"v": 9}' and obj.version == ack.version


async def test_client_writes_go_to_the_callers_own_objects(storage: StorageService, alice: users.TestUser,
                                                           bob: users.TestUser) -> None:
    col = fresh()
    [ack] = await storage.write([StorageWrite(col, "k", "{}")], caller=alice.user_id)
    assert ack.user_id == alice.user_id
    await rejects(REJECTED_PERMISSION, storage.write([StorageWrite(col, "k", "{}", user_id=bob.user_id)],
                                                     caller=alice.user_id))
    assert await read_one(storage, col, "k", bob.user_id) is None


# --- owners ----------------------------------------------------------------------

async def test_system_owner(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    acks = await storage.write([StorageWrite(col, "public", '{"p":1}', permission_read=2),
                                StorageWrite(col, "private", '{"p":0}', permission_read=1)], caller=None)
    assert {a.user_id for a in acks} == {SYSTEM_USER_ID}
    # Clients reach system objects by leaving the owner empty; only public ones are visible.
    found = await storage.read([StorageObjectId(col, "public"), StorageObjectId(col, "private", "")],
                               caller=alice.user_id)
    assert [(o.key, o.user_id) for o in found] == [("public", SYSTEM_USER_ID)]
    # Naming the nil UUID is refused for clients, allowed for the runtime.
    await rejects(INVALID_USER_ID, storage.read([StorageObjectId(col, "public", SYSTEM_USER_ID)],
                                                caller=alice.user_id))
    found = await storage.read([StorageObjectId(col, "private", SYSTEM_USER_ID)], caller=None)
    assert [o.key for o in found] == ["private"]


async def test_user_ids_are_validated(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    for bad in ["nope", "1234", "00000000-0000-0000-0000-00000000000g"]:
        await rejects(INVALID_USER_ID, storage.read([StorageObjectId(col, "k", bad)], caller=alice.user_id))
        await rejects(INVALID_USER_ID, storage.write([StorageWrite(col, "k", "{}", user_id=bad)], caller=None))
        await rejects(INVALID_USER_ID, storage.list_objects(col, user_id=bad, caller=alice.user_id))
    # Another spelling of the same UUID names the same owner.
    await storage.write([StorageWrite(col, "k", "{}")], caller=alice.user_id)
    found = await storage.read([StorageObjectId(col, "k", alice.user_id.upper())], caller=alice.user_id)
    assert [o.user_id for o in found] == [alice.user_id]


async def test_runtime_write_for_an_unknown_owner_is_a_400(storage: StorageService) -> None:
    await rejects(UNKNOWN_OWNER, storage.write([StorageWrite(fresh(), "k", "{}", user_id=str(uuid.uuid4()))],
                                               caller=None))


# --- reads -----------------------------------------------------------------------

async def test_read_permissions(storage: StorageService, alice: users.TestUser, bob: users.TestUser) -> None:
    col = fresh()
    await storage.write([StorageWrite(col, "r0", "{}", permission_read=0),
                         StorageWrite(col, "r1", "{}", permission_read=1),
                         StorageWrite(col, "r2", "{}", permission_read=2)], caller=alice.user_id)
    ids = [StorageObjectId(col, k, alice.user_id) for k in ("r0", "r1", "r2")]
    assert [o.key for o in await storage.read(ids, caller=alice.user_id)] == ["r1", "r2"]
    assert [o.key for o in await storage.read(ids, caller=bob.user_id)] == ["r2"]
    assert [o.key for o in await storage.read(ids, caller=None)] == ["r0", "r1", "r2"]


async def test_read_returns_request_order_once_each(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    await storage.write([StorageWrite(col, k, "{}") for k in ("a", "b", "c")], caller=alice.user_id)
    ids = [StorageObjectId(col, k, alice.user_id) for k in ("c", "missing", "a", "c", "b")]
    assert [o.key for o in await storage.read(ids, caller=alice.user_id)] == ["c", "a", "b"]
    assert await storage.read([], caller=alice.user_id) == []


# --- batches ---------------------------------------------------------------------

async def test_acks_follow_request_order(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    keys = ["m", "z", "a", "q"]
    acks = await storage.write([StorageWrite(col, k, f'{{"k":"{k}"}}') for k in keys], caller=alice.user_id)
    assert [a.key for a in acks] == keys
    assert [a.version for a in acks] == [md5(f'{{"k":"{k}"}}') for k in keys]


async def test_a_rejection_aborts_the_whole_batch(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    await storage.write([StorageWrite(col, "exists", '{"v":1}')], caller=alice.user_id)
    batch = [StorageWrite(col, "aaa", '{"new":1}'), StorageWrite(col, "exists", '{"v":2}', version="*"),
             StorageWrite(col, "zzz", '{"new":1}')]
    await rejects(REJECTED_VERSION, storage.write(batch, caller=alice.user_id))
    ids = [StorageObjectId(col, k, alice.user_id) for k in ("aaa", "exists", "zzz")]
    assert [(o.key, o.value) for o in await storage.read(ids, caller=None)] == [("exists", '{"v": 1}')]


async def test_a_batch_sees_its_own_earlier_writes(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    first = '{"v":1}'
    acks = await storage.write([StorageWrite(col, "k", first, version="*"),
                                StorageWrite(col, "k", '{"v":2}', version=md5(first))], caller=alice.user_id)
    assert [a.version for a in acks] == [md5(first), md5('{"v":2}')]


async def test_write_inside_a_callers_transaction(state: ServerState, storage: StorageService,
                                                  alice: users.TestUser) -> None:
    col = fresh()

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with state.db.transaction() as conn:
            await storage.write([StorageWrite(col, "k", "{}", user_id=alice.user_id)], caller=None, conn=conn)
            raise Abort
    assert await read_one(storage, col, "k", alice.user_id) is None
    # A rejected batch leaves nothing behind even when the caller carries on and commits.
    async with state.db.transaction() as conn:
        await storage.write([StorageWrite(col, "kept", "{}", user_id=alice.user_id)], caller=None, conn=conn)
        with pytest.raises(NakamaError):
            await storage.write([StorageWrite(col, "a", "{}", user_id=alice.user_id),
                                 StorageWrite(col, "kept", "{}", user_id=alice.user_id, version="*")],
                                caller=None, conn=conn)
    ids = [StorageObjectId(col, k, alice.user_id) for k in ("a", "kept")]
    assert [o.key for o in await storage.read(ids, caller=None)] == ["kept"]


async def test_failed_batches_leave_the_connection_clean(database_url: str, alice: users.TestUser) -> None:
    """A database error or a rejection mid-batch rolls back and returns an idle connection to the pool."""
    db = Database(database_url, min_size=1, max_size=1)
    await db.connect()
    try:
        storage = StorageService(db, "k")
        col = fresh()
        await storage.write([StorageWrite(col, "taken", "{}")], caller=alice.user_id)
        failures = [
            [StorageWrite(col, "a", "{}"), StorageWrite(col, "b", '{"x":"\\u0000"}')],  # database error
            [StorageWrite(col, "a", "{}"), StorageWrite(col, "taken", "{}", version="*")],  # rejection
            [StorageWrite(col, "a", "{}"), StorageWrite(col, "c", "{}", user_id=str(uuid.uuid4()))],  # no such owner
        ]
        for batch in failures:
            with pytest.raises(NakamaError):
                await storage.write(batch, caller=None if batch[-1].user_id else alice.user_id)
            async with db.connection() as conn:
                assert conn.info.transaction_status == TransactionStatus.IDLE
        # Nothing from the failed batches exists, and the connection still works.
        [ack] = await storage.write([StorageWrite(col, "after", "{}")], caller=alice.user_id)
        ids = [StorageObjectId(col, k, alice.user_id) for k in ("a", "b", "c", "after")]
        assert [o.key for o in await storage.read(ids, caller=None)] == ["after"]
        assert ack.key == "after"
    finally:
        await db.close()


async def test_a_database_error_inside_a_callers_transaction_only_undoes_the_batch(
        state: ServerState, storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    async with state.db.transaction() as conn:
        await storage.write([StorageWrite(col, "before", "{}", user_id=alice.user_id)], caller=None, conn=conn)
        with pytest.raises(NakamaError) as info:
            await storage.write([StorageWrite(col, "a", "{}", user_id=alice.user_id),
                                 StorageWrite(col, "b", '{"x":"\\u0000"}', user_id=alice.user_id)],
                                caller=None, conn=conn)
        assert info.value.message == VALUE_HAS_NUL
        await storage.write([StorageWrite(col, "after", "{}", user_id=alice.user_id)], caller=None, conn=conn)
    ids = [StorageObjectId(col, k, alice.user_id) for k in ("a", "after", "b", "before")]
    assert [o.key for o in await storage.read(ids, caller=None)] == ["after", "before"]


# --- deletes ---------------------------------------------------------------------

async def test_client_deletes(storage: StorageService, alice: users.TestUser, bob: users.TestUser) -> None:
    col = fresh()
    acks = await storage.write([StorageWrite(col, "a", '{"v":1}'), StorageWrite(col, "b", "{}"),
                                StorageWrite(col, "locked", "{}", permission_write=0)], caller=alice.user_id)
    await rejects(REJECTED_DELETE, storage.delete([StorageObjectId(col, "missing")], caller=alice.user_id))
    await rejects(REJECTED_DELETE, storage.delete([StorageObjectId(col, "locked")], caller=alice.user_id))
    await rejects(REJECTED_DELETE, storage.delete([StorageObjectId(col, "a", version="0" * 32)],
                                                  caller=alice.user_id))
    await rejects(REJECTED_DELETE, storage.delete([StorageObjectId(col, "a")], caller=bob.user_id))
    await rejects(REJECTED_PERMISSION, storage.delete([StorageObjectId(col, "a", alice.user_id)],
                                                      caller=bob.user_id))
    # One missing object aborts the batch.
    await rejects(REJECTED_DELETE, storage.delete([StorageObjectId(col, "b"), StorageObjectId(col, "zz")],
                                                  caller=alice.user_id))
    await storage.delete([StorageObjectId(col, "a", version=acks[0].version), StorageObjectId(col, "b")],
                         caller=alice.user_id)
    ids = [StorageObjectId(col, k, alice.user_id) for k in ("a", "b", "locked")]
    assert [o.key for o in await storage.read(ids, caller=None)] == ["locked"]


async def test_runtime_deletes(storage: StorageService, alice: users.TestUser) -> None:
    col = fresh()
    await storage.write([StorageWrite(col, "locked", "{}", permission_write=0),
                         StorageWrite(col, "v", '{"v":1}')], caller=alice.user_id)
    await storage.write([StorageWrite(col, "sys", "{}")], caller=None)
    # A missing object without a version is a no-op; with a version it is a rejection.
    await storage.delete([StorageObjectId(col, "missing", alice.user_id)], caller=None)
    await rejects(REJECTED_DELETE, storage.delete([StorageObjectId(col, "missing", alice.user_id, "x")],
                                                  caller=None))
    await rejects(REJECTED_DELETE, storage.delete([StorageObjectId(col, "v", alice.user_id, "x")], caller=None))
    await storage.delete([StorageObjectId(col, "locked", alice.user_id), StorageObjectId(col, "sys"),
                          StorageObjectId(col, "v", alice.user_id, md5('{"v":1}'))], caller=None)
    ids = [StorageObjectId(col, k, alice.user_id) for k in ("locked", "v")] + [StorageObjectId(col, "sys")]
    assert await storage.read(ids, caller=None) == []


# --- listings --------------------------------------------------------------------

async def listing(storage: StorageService, collection: str, *, limit: int, **kwargs: Any) -> list[StorageObject]:
    """Every page of a listing, following cursors; each page at most ``limit`` long."""
    seen: list[StorageObject] = []
    cursor: str | None = None
    for _ in range(1000):
        page, cursor = await storage.list_objects(collection, limit=limit, cursor=cursor, **kwargs)
        assert len(page) <= limit
        seen.extend(page)
        if cursor is None:
            return seen
    raise AssertionError("the listing never ended")


@pytest.fixture
async def listed(storage: StorageService, alice: users.TestUser, bob: users.TestUser) -> str:
    col = fresh()
    for user in (alice, bob):
        await storage.write([StorageWrite(col, f"k{i}", f'{{"i":{i}}}', permission_read=i % 3) for i in range(7)],
                            caller=user.user_id)
    await storage.write([StorageWrite(col, "sys", "{}", permission_read=2)], caller=None)
    return col


def expected(rows: list[tuple[int, str, str]], order: str) -> list[tuple[str, str]]:
    by = {"rku": lambda r: (r[0], r[1], r[2]), "rk": lambda r: (r[0], r[1]), "k": lambda r: r[1]}[order]
    return [(r[1], r[2]) for r in sorted(rows, key=by)]


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
async def test_list_orders_and_permissions(storage: StorageService, listed: str, alice: users.TestUser,
                                           bob: users.TestUser, limit: int) -> None:
    col = listed
    rows = [(i % 3, f"k{i}", u.user_id) for u in (alice, bob) for i in range(7)] + [(2, "sys", SYSTEM_USER_ID)]

    def keys(objs: list[StorageObject]) -> list[tuple[str, str]]:
        return [(o.key, o.user_id) for o in objs]

    # Client, every owner: public objects only, by read, key, owner.
    got = await listing(storage, col, limit=limit, caller=alice.user_id)
    assert keys(got) == expected([r for r in rows if r[0] == 2], "rku")
    # Client, own objects: read >= 1, by read then key.
    got = await listing(storage, col, limit=limit, user_id=alice.user_id, caller=alice.user_id)
    assert keys(got) == expected([r for r in rows if r[2] == alice.user_id and r[0] >= 1], "rk")
    # Client, another owner: that owner's public objects, by key.
    got = await listing(storage, col, limit=limit, user_id=bob.user_id, caller=alice.user_id)
    assert keys(got) == expected([r for r in rows if r[2] == bob.user_id and r[0] == 2], "k")
    # Runtime, every owner: everything, by read, key, owner.
    got = await listing(storage, col, limit=limit, caller=None)
    assert keys(got) == expected(rows, "rku")
    # Runtime, one owner: all of that owner's objects, by read then key.
    got = await listing(storage, col, limit=limit, user_id=bob.user_id, caller=None)
    assert keys(got) == expected([r for r in rows if r[2] == bob.user_id], "rk")


async def test_list_values_and_default_limit(storage: StorageService, listed: str, alice: users.TestUser) -> None:
    page, cursor = await storage.list_objects(listed, user_id=alice.user_id, caller=alice.user_id)
    assert len(page) == 1 and cursor is not None
    obj = page[0]
    assert (obj.key, obj.value, obj.version, obj.permission_read) == ("k1", '{"i": 1}', md5('{"i":1}'), 1)
    # The last page has no cursor.
    page, cursor = await storage.list_objects(listed, user_id=alice.user_id, limit=100, caller=alice.user_id)
    assert cursor is None and len(page) == 4


async def test_list_limits(storage: StorageService, listed: str, alice: users.TestUser) -> None:
    for limit in (0, -1, 101):
        await rejects(INVALID_LIMIT, storage.list_objects(listed, limit=limit, caller=alice.user_id))
    assert await storage.list_objects(listed, limit=0, caller=None) == ([], None)
    page, _ = await storage.list_objects(listed, limit=1000, caller=None)
    assert len(page) == 15


async def test_cursors_cannot_be_forged_or_moved(storage: StorageService, listed: str, alice: users.TestUser,
                                                 bob: users.TestUser) -> None:
    _, own = await storage.list_objects(listed, user_id=alice.user_id, limit=1, caller=alice.user_id)
    _, public = await storage.list_objects(listed, limit=1, caller=alice.user_id)
    assert own and public
    other = fresh()
    await storage.write([StorageWrite(other, "x", "{}", permission_read=2)], caller=alice.user_id)
    attempts: list[tuple[str, dict[str, Any]]] = [
        (own, {"collection": other, "user_id": alice.user_id, "caller": alice.user_id}),  # other collection
        (own, {"collection": listed, "user_id": bob.user_id, "caller": alice.user_id}),  # other owner
        (own, {"collection": listed, "user_id": alice.user_id, "caller": bob.user_id}),  # other kind of listing
        (own, {"collection": listed, "user_id": alice.user_id, "caller": None}),  # runtime listing
        (public, {"collection": listed, "user_id": None, "caller": None}),
        (own[:-2] + ("A" if own[-2] != "A" else "B") + own[-1], {"collection": listed, "user_id": alice.user_id,
                                                                 "caller": alice.user_id}),  # edited
    ]
    for garbage in ["x", "!!!!", "AAAA", "a" * 5000, "é", own + "A", own[4:]]:
        attempts.append((garbage, {"collection": listed, "user_id": alice.user_id, "caller": alice.user_id}))
    for cursor, where in attempts:
        collection = where.pop("collection")
        await rejects(MALFORMED, storage.list_objects(collection, limit=1, cursor=cursor, **where))
    # The genuine cursor still works where it was issued.
    page, _ = await storage.list_objects(listed, user_id=alice.user_id, limit=1, cursor=own, caller=alice.user_id)
    assert [o.key for o in page] == ["k4"]


async def test_cursors_survive_a_restart_with_the_same_key(storage: StorageService, state: ServerState,
                                                           listed: str, alice: users.TestUser) -> None:
    _, cursor = await storage.list_objects(listed, user_id=alice.user_id, limit=2, caller=alice.user_id)
    again = StorageService(state.db, state.config.session.encryption_key)
    page, _ = await again.list_objects(listed, user_id=alice.user_id, limit=2, cursor=cursor, caller=alice.user_id)
    assert [o.key for o in page] == ["k2", "k5"]
    other_server = StorageService(state.db, "another-deployment-key")
    await rejects(MALFORMED, other_server.list_objects(listed, user_id=alice.user_id, limit=2, cursor=cursor,
                                               caller=alice.user_id))


# --- round trips -------------------------------------------------------------------

class RoundTripCounter:
    """A TCP proxy in front of PostgreSQL counting client sends that follow a server reply."""

    def __init__(self) -> None:
        self.round_trips = 0
        self._last = ""

    def reset(self) -> None:
        self.round_trips, self._last = 0, ""

    def saw(self, direction: str) -> None:
        if direction == "up" and self._last != "up":
            self.round_trips += 1
        self._last = direction

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                self.saw(direction)
                writer.write(data)
                await writer.drain()
        writer.close()

    @contextlib.asynccontextmanager
    async def proxy(self, url: str) -> AsyncIterator[str]:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 5432

        async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
            server_r, server_w = await asyncio.open_connection(host, port)
            await asyncio.gather(self._pipe(client_r, server_w, "up"), self._pipe(server_r, client_w, "down"))

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        netloc = parts.netloc.replace(f"{parts.hostname}:{port}" if parts.port else str(parts.hostname),
                                      f"127.0.0.1:{server.sockets[0].getsockname()[1]}")
        try:
            yield urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        finally:
            server.close()

    async def count(self, action: Callable[[], Awaitable[object]]) -> int:
        await action()  # warm: the pooled connection and prepared statements
        self.reset()
        await action()
        return self.round_trips


async def test_round_trips_do_not_grow_with_the_batch(database_url: str, alice: users.TestUser) -> None:
    """One query per read or page; a write or delete batch is BEGIN+statements, then COMMIT: two."""
    counter = RoundTripCounter()
    async with counter.proxy(database_url) as url:
        db = Database(url, min_size=1, max_size=1)
        await db.connect()
        try:
            storage = StorageService(db, "k")
            col = fresh()
            n = iter(range(1000))

            def batch(size: int) -> Callable[[], Awaitable[object]]:
                return lambda: storage.write([StorageWrite(col, f"k{i}", f'{{"n":{next(n)}}}') for i in range(size)],
                                             caller=alice.user_id)

            assert await counter.count(batch(1)) == 2
            assert await counter.count(batch(20)) == 2
            assert await counter.count(lambda: storage.read([StorageObjectId(col, "k1", alice.user_id)],
                                                            caller=alice.user_id)) == 1
            assert await counter.count(lambda: storage.read([StorageObjectId(col, f"k{i}", alice.user_id)
                                                             for i in range(20)], caller=alice.user_id)) == 1
            assert await counter.count(lambda: storage.list_objects(col, user_id=alice.user_id, limit=5,
                                                            caller=alice.user_id)) == 1

            async def write_then_delete() -> None:
                await storage.write([StorageWrite(col, f"d{i}", "{}") for i in range(10)], caller=alice.user_id)
                counter.reset()
                await storage.delete([StorageObjectId(col, f"d{i}") for i in range(10)], caller=alice.user_id)

            await counter.count(write_then_delete)
            assert counter.round_trips == 2
        finally:
            await db.close()
