"""Storage routes: read ``POST /v2/storage``, write ``PUT /v2/storage``, delete
``PUT /v2/storage/delete``, list ``GET /v2/storage/{collection}[/{user_id}]``.

Each handler builds Nakama's request message (snake_case), runs it through the
before hook, calls the core with the possibly rewritten message, and hands the
reply to the after hook.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.core.storage import StorageAck, StorageObject, StorageObjectId, StorageWrite
from nakama_py.errors import invalid_argument
from nakama_py.wire.encoding import compact, timestamp
from nakama_py.wire.request import get_list, get_opt_int, get_str, query_int, query_value, read_body
from nakama_py.wire.response import empty_response, json_response

Message = dict[str, Any]


def _messages(obj: Message, name: str) -> list[Message]:
    """A repeated message field: a list of JSON objects."""
    items = get_list(obj, name)
    for item in items:
        if not isinstance(item, dict):
            raise invalid_argument(f"proto: invalid value for message field {name}: {orjson.dumps(item).decode()}")
    return items


def _whole_seconds(value: datetime) -> datetime:
    # Nakama fills StorageObject times from whole seconds (acks keep the fraction).
    return value.replace(microsecond=0)


def object_message(obj: StorageObject) -> Message:
    return compact({
        "collection": obj.collection,
        "key": obj.key,
        "user_id": obj.user_id,
        "value": obj.value,
        "version": obj.version,
        "permission_read": obj.permission_read,
        "permission_write": obj.permission_write,
        "create_time": timestamp(_whole_seconds(obj.create_time)),
        "update_time": timestamp(_whole_seconds(obj.update_time)),
    })


def ack_message(ack: StorageAck) -> Message:
    return compact({
        "collection": ack.collection,
        "key": ack.key,
        "version": ack.version,
        "user_id": ack.user_id,
        "create_time": timestamp(ack.create_time),
        "update_time": timestamp(ack.update_time),
    })


# --- read --------------------------------------------------------------------

def _object_ids(body: Message, third: str) -> Message:
    """A read (``user_id``) or delete (``version``) request: collection, key and the third field."""
    return {"object_ids": [
        {"collection": get_str(item, "collection"), "key": get_str(item, "key"), third: get_str(item, third)}
        for item in _messages(body, "object_ids")
    ]}


async def read_objects(request: web.Request) -> web.Response:
    caller = bearer_session(request).user_id
    message = await hooks.before(request, "ReadStorageObjects", _object_ids(await read_body(request), "user_id"))
    items = _messages(message, "object_ids")
    if not items:
        return empty_response()
    ids = [StorageObjectId(get_str(item, "collection"), get_str(item, "key"), get_str(item, "user_id") or None)
           for item in items]
    objects = await state_of(request).storage.read(ids, caller=caller)
    reply = {"objects": [object_message(obj) for obj in objects]}
    await hooks.after(request, "ReadStorageObjects", message, reply)
    return json_response(reply)


# --- write -------------------------------------------------------------------

def _write_item(item: Message) -> Message:
    out: Message = {"collection": get_str(item, "collection"), "key": get_str(item, "key"),
                    "value": get_str(item, "value"), "version": get_str(item, "version")}
    # Int32Value wrappers: present or absent, and absent means 1.
    for name in ("permission_read", "permission_write"):
        value = get_opt_int(item, name, bits=32)
        if value is not None:
            out[name] = value
    return out


async def write_objects(request: web.Request) -> web.Response:
    caller = bearer_session(request).user_id
    body = await read_body(request)
    request_message = {"objects": [_write_item(item) for item in _messages(body, "objects")]}
    message = await hooks.before(request, "WriteStorageObjects", request_message)
    items = _messages(message, "objects")
    if not items:
        return empty_response()
    writes = []
    for item in items:
        read = get_opt_int(item, "permission_read", bits=32)
        write = get_opt_int(item, "permission_write", bits=32)
        writes.append(StorageWrite(
            collection=get_str(item, "collection"), key=get_str(item, "key"), value=get_str(item, "value"),
            version=get_str(item, "version"),
            permission_read=1 if read is None else read, permission_write=1 if write is None else write,
        ))
    acks = await state_of(request).storage.write(writes, caller=caller)
    reply = {"acks": [ack_message(ack) for ack in acks]}
    await hooks.after(request, "WriteStorageObjects", message, reply)
    return json_response(reply)


# --- delete ------------------------------------------------------------------

async def delete_objects(request: web.Request) -> web.Response:
    caller = bearer_session(request).user_id
    message = await hooks.before(request, "DeleteStorageObjects", _object_ids(await read_body(request), "version"))
    items = _messages(message, "object_ids")
    if not items:
        return empty_response()
    ids = [StorageObjectId(get_str(item, "collection"), get_str(item, "key"), None, get_str(item, "version"))
           for item in items]
    await state_of(request).storage.delete(ids, caller=caller)
    await hooks.after(request, "DeleteStorageObjects", message, None)
    return empty_response()


# --- list --------------------------------------------------------------------

def _list_request(request: web.Request) -> Message:
    query = request.query
    # A path segment wins over the query parameter of the same name, as in Nakama's gateway.
    user_id = request.match_info.get("user_id") or query_value(query, "user_id") or ""
    if user_id == "null":  # nakama-python 1.0.3 sends user_id=null for "any owner"
        user_id = ""
    message: Message = {"collection": request.match_info["collection"], "user_id": user_id,
                        "cursor": query_value(query, "cursor") or ""}
    limit = query_int(query, "limit")
    if limit is not None:
        message["limit"] = limit
    return message


async def list_objects(request: web.Request) -> web.Response:
    caller = bearer_session(request).user_id
    message = await hooks.before(request, "ListStorageObjects", _list_request(request))
    limit = get_opt_int(message, "limit", bits=32)
    objects, cursor = await state_of(request).storage.list_objects(
        get_str(message, "collection"), user_id=get_str(message, "user_id") or None,
        limit=1 if limit is None else limit, cursor=get_str(message, "cursor") or None, caller=caller)
    reply = {"objects": [object_message(obj) for obj in objects], "cursor": cursor or ""}
    await hooks.after(request, "ListStorageObjects", message, reply)
    return json_response(reply)


ROUTES = [
    web.post("/v2/storage", read_objects),
    web.put("/v2/storage", write_objects),
    web.put("/v2/storage/delete", delete_objects),
    web.get("/v2/storage/{collection}", list_objects),
    web.get("/v2/storage/{collection}/{user_id}", list_objects),
]
