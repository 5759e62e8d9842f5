"""The storage routes on the live application: Nakama's bodies, messages, codes and statuses."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.core.storage import SYSTEM_USER_ID, StorageWrite
from nakama_py.errors import Code, NakamaError
from nakama_py.state import ServerState
from nakama_py.wire.request_view import RequestView
from tests.support import users

Client = TestClient[web.Request, web.Application]
WHOLE_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ANY_FRACTION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?Z$")


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def fresh() -> str:
    return "h" + uuid.uuid4().hex[:12]


async def call(client: Client, method: str, path: str, user: users.TestUser | None, body: Any = None,
               raw: bytes | None = None) -> tuple[int, Any]:
    headers = user.auth if user else {}
    data = raw if raw is not None else (None if body is None else orjson.dumps(body))
    response = await client.request(method, path, headers=headers, data=data)
    return response.status, await response.json()


async def write(client: Client, user: users.TestUser, *objects: dict[str, Any]) -> tuple[int, Any]:
    return await call(client, "PUT", "/v2/storage", user, {"objects": list(objects)})


def error(message: str, code: int = 3) -> dict[str, Any]:
    return {"code": code, "message": message}


# --- auth and routing ------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [("POST", "/v2/storage"), ("PUT", "/v2/storage"),
                                              ("PUT", "/v2/storage/delete"), ("GET", "/v2/storage/col"),
                                              ("GET", f"/v2/storage/col/{uuid.uuid4()}")])
async def test_every_route_needs_a_session(client: Client, method: str, path: str) -> None:
    assert await call(client, method, path, None, {}) == (401, error("Auth token required", 16))
    response = await client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert (response.status, await response.json()) == (401, error("Auth token invalid", 16))


async def test_wrong_method_is_501(client: Client, alice: users.TestUser) -> None:
    assert await call(client, "DELETE", "/v2/storage", alice) == (501, error("Method Not Allowed", 12))
    assert await call(client, "POST", "/v2/storage/delete", alice, {}) == (501, error("Method Not Allowed", 12))


# --- write -----------------------------------------------------------------------

async def test_write_acks(client: Client, alice: users.TestUser) -> None:
    col = fresh()
    status, body = await write(client, alice, {"collection": col, "key": "z", "value": '{"a":1}'},
                               {"collection": col, "key": "a", "value": '{"b": 2}', "permission_read": 2})
    assert status == 200
    assert [a["key"] for a in body["acks"]] == ["z", "a"]
    for ack, value in zip(body["acks"], ['{"a":1}', '{"b": 2}'], strict=True):
        assert set(ack) == {"collection", "key", "version", "user_id", "create_time", "update_time"}
        assert (ack["collection"], ack["user_id"], ack["version"]) == (col, alice.user_id, md5(value))
        assert ANY_FRACTION.match(ack["create_time"]) and ANY_FRACTION.match(ack["update_time"])


async def test_write_accepts_camel_case_and_an_empty_batch(client: Client, alice: users.TestUser) -> None:
    col = fresh()
    status, _ = await write(client, alice, {"collection": col, "key": "k", "value": "{}",
                                            "permissionRead": 2, "permissionWrite": 0})
    assert status == 200
    _, read = await call(client, "POST", "/v2/storage", alice, {"objectIds": [{"collection": col, "key": "k",
                                                                               "userId": alice.user_id}]})
    assert read["objects"][0]["permission_read"] == 2 and "permission_write" not in read["objects"][0]
    assert await write(client, alice) == (200, {})
    assert await call(client, "PUT", "/v2/storage", alice, raw=b"") == (200, {})


async def test_omitted_permissions_reset_to_1_1(client: Client, alice: users.TestUser) -> None:
    col = fresh()
    await write(client, alice, {"collection": col, "key": "k", "value": "{}", "permission_read": 2,
                                "permission_write": 1})
    await write(client, alice, {"collection": col, "key": "k", "value": "{}"})
    _, body = await call(client, "POST", "/v2/storage", alice,
                         {"object_ids": [{"collection": col, "key": "k", "user_id": alice.user_id}]})
    assert (body["objects"][0]["permission_read"], body["objects"][0]["permission_write"]) == (1, 1)


async def test_write_validation_messages(client: Client, alice: users.TestUser) -> None:
    col = fresh()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"collection": "", "key": "k", "value": "{}"}, "Invalid collection or key value supplied. They must be set."),
        ({"collection": col, "key": "k"}, "Invalid collection or key value supplied. They must be set."),
        ({"collection": col, "key": "k", "value": "{}", "permission_read": 3},
         "Invalid Read permission supplied. It must be either 0, 1 or 2."),
        ({"collection": col, "key": "k", "value": "{}", "permission_write": 2},
         "Invalid Write permission supplied. It must be either 0 or 1."),
        ({"collection": col, "key": "k", "value": "[1]"}, "Value must be a JSON object."),
        ({"collection": col, "key": "k", "value": "{nope"}, "Value must be a JSON object."),
        ({"collection": col, "key": "k" * 129, "value": "{}"},
         "Invalid collection or key value supplied. They must be at most 128 characters long."),
        ({"collection": "c" * 200, "key": "k", "value": "{}"},
         "Invalid collection or key value supplied. They must be at most 128 characters long."),
    ]
    for obj, message in cases:
        assert await write(client, alice, obj) == (400, error(message))
    # Values the database cannot hold are 400s too, never a 500.
    status, body = await write(client, alice, {"collection": col, "key": "k", "value": '{"a":"\\u0000"}'})
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT
    # The value is a JSON string holding the object, not an object.
    status, body = await write(client, alice, {"collection": col, "key": "k", "value": {"a": 1}})
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT


async def test_conditional_write_rejections(client: Client, alice: users.TestUser) -> None:
    col = fresh()
    _, body = await write(client, alice, {"collection": col, "key": "k", "value": '{"v":1}', "version": "*"})
    version = body["acks"][0]["version"]
    rejected = error("Storage write rejected - version check failed.")
    assert await write(client, alice, {"collection": col, "key": "k", "value": "{}", "version": "*"}) == (400, rejected)
    assert await write(client, alice, {"collection": col, "key": "k", "value": "{}", "version": "abc"}) == (400,
                                                                                                          rejected)
    status, body = await write(client, alice, {"collection": col, "key": "k", "value": '{"v":2}', "version": version,
                                               "permission_write": 0})
    assert status == 200 and body["acks"][0]["version"] == md5('{"v":2}')
    denied = error("Storage write rejected - permission denied.")
    assert await write(client, alice, {"collection": col, "key": "k", "value": '{"v":3}'}) == (400, denied)


async def test_a_rejected_batch_writes_nothing(client: Client, alice: users.TestUser) -> None:
    col = fresh()
    await write(client, alice, {"collection": col, "key": "taken", "value": "{}"})
    status, _ = await write(client, alice, {"collection": col, "key": "new", "value": "{}"},
                            {"collection": col, "key": "taken", "value": "{}", "version": "*"})
    assert status == 400
    _, body = await call(client, "POST", "/v2/storage", alice,
                         {"object_ids": [{"collection": col, "key": "new", "user_id": alice.user_id}]})
    assert body == {}


# --- read ------------------------------------------------------------------------

async def test_read_objects_shape(client: Client, state: ServerState, alice: users.TestUser,
                                  bob: users.TestUser) -> None:
    col = fresh()
    await write(client, alice, {"collection": col, "key": "pub", "value": '{"b":1,"a":2}', "permission_read": 2,
                                "permission_write": 0},
                {"collection": col, "key": "mine", "value": "{}"})
    await state.storage.write([StorageWrite(col, "sys", '{"s":1}', permission_read=2, permission_write=0)])
    ids = [{"collection": col, "key": "pub", "user_id": alice.user_id},
           {"collection": col, "key": "mine", "user_id": alice.user_id},
           {"collection": col, "key": "sys"}]
    status, body = await call(client, "POST", "/v2/storage", bob, {"object_ids": ids})
    assert status == 200
    pub, sys_obj = body["objects"]
    assert pub == {"collection": col, "key": "pub", "user_id": alice.user_id, "value": '{"a": 2, "b": 1}',
                   "version": md5('{"b":1,"a":2}'), "permission_read": 2,
                   "create_time": pub["create_time"], "update_time": pub["update_time"]}
    assert WHOLE_SECONDS.match(pub["create_time"]) and WHOLE_SECONDS.match(pub["update_time"])
    assert (sys_obj["key"], sys_obj["user_id"]) == ("sys", SYSTEM_USER_ID)
    # The owner sees both of their objects.
    _, body = await call(client, "POST", "/v2/storage", alice, {"object_ids": ids[:2]})
    assert [o["key"] for o in body["objects"]] == ["pub", "mine"]


async def test_read_validation(client: Client, alice: users.TestUser) -> None:
    assert await call(client, "POST", "/v2/storage", alice, {"object_ids": []}) == (200, {})
    assert await call(client, "POST", "/v2/storage", alice, raw=b"") == (200, {})
    assert await call(client, "POST", "/v2/storage", alice, {"object_ids": [{"collection": "c"}]}) == (
        400, error("Invalid collection or key value supplied. They must be set."))
    bad_user = error("Invalid user ID - make sure user ID is a valid UUID.")
    for user_id in ["not-a-uuid", SYSTEM_USER_ID]:
        assert await call(client, "POST", "/v2/storage", alice,
                          {"object_ids": [{"collection": "c", "key": "k", "user_id": user_id}]}) == (400, bad_user)
    status, body = await call(client, "POST", "/v2/storage", alice, {"object_ids": "nope"})
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT
    status, body = await call(client, "POST", "/v2/storage", alice, raw=b"{not json")
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT
    # A key too long to exist finds nothing, like any missing object.
    assert await call(client, "POST", "/v2/storage", alice,
                      {"object_ids": [{"collection": "c", "key": "k" * 300}]}) == (200, {})


# --- delete ----------------------------------------------------------------------

async def test_delete(client: Client, alice: users.TestUser) -> None:
    col = fresh()
    _, body = await write(client, alice, {"collection": col, "key": "a", "value": "{}"},
                          {"collection": col, "key": "locked", "value": "{}", "permission_write": 0})
    rejected = error("Storage delete rejected - not found, version check failed, or permission denied.")
    for object_id in [{"collection": col, "key": "missing"}, {"collection": col, "key": "locked"},
                      {"collection": col, "key": "a", "version": "wrong"}]:
        assert await call(client, "PUT", "/v2/storage/delete", alice, {"object_ids": [object_id]}) == (400, rejected)
    assert await call(client, "PUT", "/v2/storage/delete", alice, {"object_ids": [{"collection": col}]}) == (
        400, error("Invalid collection or key value supplied. They must be set."))
    assert await call(client, "PUT", "/v2/storage/delete", alice, {"object_ids": []}) == (200, {})
    version = body["acks"][0]["version"]
    assert await call(client, "PUT", "/v2/storage/delete", alice,
                      {"object_ids": [{"collection": col, "key": "a", "version": version}]}) == (200, {})
    assert await call(client, "PUT", "/v2/storage/delete", alice,
                      {"object_ids": [{"collection": col, "key": "a"}]}) == (400, rejected)


async def test_delete_only_touches_the_callers_objects(client: Client, alice: users.TestUser,
                                                      bob: users.TestUser) -> None:
    col = fresh()
    await write(client, alice, {"collection": col, "key": "a", "value": "{}", "permission_read": 2})
    # A user_id in the body is not part of Nakama's delete message: it is ignored, bob deletes his own "a".
    status, _ = await call(client, "PUT", "/v2/storage/delete", bob,
                           {"object_ids": [{"collection": col, "key": "a", "user_id": alice.user_id}]})
    assert status == 400
    _, body = await call(client, "POST", "/v2/storage", bob,
                         {"object_ids": [{"collection": col, "key": "a", "user_id": alice.user_id}]})
    assert len(body["objects"]) == 1


# --- list ------------------------------------------------------------------------

@pytest.fixture
async def listed(client: Client, alice: users.TestUser, bob: users.TestUser) -> str:
    col = fresh()
    for user in (alice, bob):
        await write(client, user, *[{"collection": col, "key": f"k{i}", "value": f'{{"i":{i}}}',
                                     "permission_read": i % 3} for i in range(4)])
    return col


async def test_list_defaults_to_one_object_and_pages_with_cursors(client: Client, listed: str,
                                                                 alice: users.TestUser) -> None:
    seen = []
    cursor = ""
    for _ in range(10):
        status, body = await call(client, "GET", f"/v2/storage/{listed}?user_id={alice.user_id}&cursor={cursor}&",
                                  alice)
        assert status == 200 and len(body.get("objects", [])) == 1
        seen.append(body["objects"][0]["key"])
        cursor = body.get("cursor", "")
        if not cursor:
            break
    assert seen == ["k1", "k2"]  # own objects with read >= 1, by read then key


async def test_list_routes_and_permissions(client: Client, listed: str, alice: users.TestUser,
                                           bob: users.TestUser) -> None:
    status, body = await call(client, "GET", f"/v2/storage/{listed}/{bob.user_id}?limit=100", alice)
    assert status == 200 and "cursor" not in body
    assert [(o["key"], o["user_id"]) for o in body["objects"]] == [("k2", bob.user_id)]
    obj = body["objects"][0]
    assert obj["value"] == '{"i": 2}' and obj["permission_read"] == 2 and WHOLE_SECONDS.match(obj["create_time"])
    _, body = await call(client, "GET", f"/v2/storage/{listed}?limit=100&", alice)
    assert sorted((o["key"], o["user_id"]) for o in body["objects"]) == sorted(
        [("k2", alice.user_id), ("k2", bob.user_id)])
    # nakama-python spells "any owner" user_id=null.
    _, null_body = await call(client, "GET", f"/v2/storage/{listed}?limit=100&user_id=null", alice)
    assert null_body == body
    _, body = await call(client, "GET", f"/v2/storage/{fresh()}?", alice)
    assert body == {}


async def test_list_errors(client: Client, listed: str, alice: users.TestUser) -> None:
    bad_limit = error("Invalid limit - limit must be between 1 and 100.")
    for limit in ("0", "101", "-3"):
        assert await call(client, "GET", f"/v2/storage/{listed}?limit={limit}", alice) == (400, bad_limit)
    status, body = await call(client, "GET", f"/v2/storage/{listed}?limit=ten", alice)
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT
    bad_user = error("Invalid user ID - make sure user ID is a valid UUID.")
    assert await call(client, "GET", f"/v2/storage/{listed}/nope", alice) == (400, bad_user)
    assert await call(client, "GET", f"/v2/storage/{listed}?user_id=nope", alice) == (400, bad_user)
    malformed = error("Malformed cursor was used.")
    for cursor in ("garbage", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "%25%25%25"):
        assert await call(client, "GET", f"/v2/storage/{listed}?cursor={cursor}", alice) == (400, malformed)
    # A cursor from one collection cannot read another.
    _, body = await call(client, "GET", f"/v2/storage/{listed}?user_id={alice.user_id}", alice)
    other = fresh()
    assert await call(client, "GET", f"/v2/storage/{other}?user_id={alice.user_id}&cursor={body['cursor']}",
                      alice) == (400, malformed)


# --- hooks -----------------------------------------------------------------------

class RecordingHooks:
    """Before hooks may rewrite the request message; after hooks see the reply."""

    def __init__(self, rewrite: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
        self.rewrite = rewrite
        self.after_calls: list[tuple[str, dict[str, Any], Any]] = []

    def has_before(self, name: str) -> bool:
        return name in self.rewrite

    def has_after(self, name: str) -> bool:
        return True

    async def run_before(self, name: str, request: RequestView, message: dict[str, Any]) -> dict[str, Any]:
        return self.rewrite[name](message)

    async def run_after(self, name: str, request: RequestView, message: dict[str, Any], reply: Any) -> None:
        self.after_calls.append((name, message, reply))


async def test_hooks_see_and_rewrite_nakamas_messages(client: Client, state: ServerState,
                                                      alice: users.TestUser) -> None:
    col = fresh()

    def force_public(message: dict[str, Any]) -> dict[str, Any]:
        assert message == {"objects": [{"collection": col, "key": "k", "value": '{"a":1}', "version": ""}]}
        return {"objects": [{**message["objects"][0], "permission_read": 2}]}

    def reject_reads(message: dict[str, Any]) -> dict[str, Any]:
        raise NakamaError("no reads today", Code.PERMISSION_DENIED)

    hooks = RecordingHooks({"WriteStorageObjects": force_public, "ReadStorageObjects": reject_reads})
    state.hooks = hooks
    status, body = await write(client, alice, {"collection": col, "key": "k", "value": '{"a":1}'})
    assert status == 200
    ids = {"object_ids": [{"collection": col, "key": "k", "user_id": alice.user_id}]}
    assert await call(client, "POST", "/v2/storage", alice, ids) == (403, error("no reads today", 7))
    status, listed = await call(client, "GET", f"/v2/storage/{col}?limit=5", alice)
    assert [o["permission_read"] for o in listed["objects"]] == [2]  # the rewritten message was written
    assert await call(client, "PUT", "/v2/storage/delete", alice,
                      {"object_ids": [{"collection": col, "key": "k"}]}) == (200, {})
    names = [name for name, _, _ in hooks.after_calls]
    assert names == ["WriteStorageObjects", "ListStorageObjects", "DeleteStorageObjects"]
    assert hooks.after_calls[0][2] == body
    assert hooks.after_calls[1][1] == {"collection": col, "user_id": "", "cursor": "", "limit": 5}
    assert hooks.after_calls[2][1] == {"object_ids": [{"collection": col, "key": "k", "version": ""}]}
