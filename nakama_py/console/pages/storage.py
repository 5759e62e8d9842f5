"""Storage: browse collections and their objects; view, edit and delete an object with a version check
(the version shown in the page must still be the stored one, or the change is refused)."""

from __future__ import annotations

import json
from urllib.parse import quote

from aiohttp import web

from nakama_py.console.audit import audit
from nakama_py.console.context import back, console_of, may, render
from nakama_py.core.console_users import Permission
from nakama_py.core.storage import SYSTEM_USER_ID, StorageObject, StorageObjectId, StorageWrite
from nakama_py.errors import NakamaError, invalid_argument, not_found

routes = web.RouteTableDef()
PAGE_SIZE = 50


def object_url(collection: str, key: str, user_id: str) -> str:
    return f"/storage/{quote(collection, safe='')}/{quote(key, safe='')}/{user_id}"


def _permission(value: object, low: int, high: int, name: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise invalid_argument(f"{name} must be a number.") from None
    if not low <= number <= high:
        raise invalid_argument(f"{name} must be {low}-{high}.")
    return number


@routes.get("/storage")
async def collections(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    state = console_of(request).state
    collection = request.query.get("collection", "")
    owner = request.query.get("user_id", "") or None
    objects: list[StorageObject] = []
    next_cursor = None
    if collection:
        objects, next_cursor = await state.storage.list_objects(collection, user_id=owner, limit=PAGE_SIZE,
                                                        cursor=request.query.get("cursor") or None)
    return render(request, "storage.html", collections=await state.storage.collections(), collection=collection,
                  owner=owner or "", objects=objects, next_cursor=next_cursor, object_url=object_url)


@routes.get("/storage/{collection}/{key}/{user_id}")
async def object_page(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    info = request.match_info
    found = await console_of(request).state.storage.read(
        [StorageObjectId(info["collection"], info["key"], info["user_id"])])
    if not found:
        raise not_found("Storage object not found.")
    obj = found[0]
    return render(request, "storage_object.html", obj=obj, value=json.dumps(json.loads(obj.value), indent=2),
                  system=obj.user_id == SYSTEM_USER_ID)


@routes.post("/storage/{collection}/{key}/{user_id}")
async def save_object(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.EDIT_DATA)
    info = request.match_info
    url = object_url(info["collection"], info["key"], info["user_id"])
    form = await request.post()
    version = str(form.get("version", ""))
    try:
        value = json.loads(str(form.get("value", "")))
    except json.JSONDecodeError as exc:
        raise back(url, err=f"Not saved: the value is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    if not isinstance(value, dict):
        raise back(url, err="Not saved: the value must be a JSON object.")
    write = StorageWrite(info["collection"], info["key"], json.dumps(value), user_id=info["user_id"],
                         version=version or "*",
                         permission_read=_permission(form.get("permission_read", 1), 0, 2, "Read permission"),
                         permission_write=_permission(form.get("permission_write", 1), 0, 1, "Write permission"))
    try:
        acks = await console_of(request).state.storage.write([write])
    except NakamaError as exc:
        raise back(url, err=f"Not saved: {exc.message} Someone changed it since you opened it: reload to see"
                            " the stored version." if "version" in exc.message else f"Not saved: {exc.message}") \
            from None
    audit(operator.username, "wrote a storage object", collection=write.collection, key=write.key,
          user_id=info["user_id"], previous_version=version, version=acks[0].version)
    raise back(url, msg=f"Saved (version {acks[0].version}).")


@routes.post("/storage/{collection}/{key}/{user_id}/delete")
async def delete_object(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.EDIT_DATA)
    info = request.match_info
    form = await request.post()
    version = str(form.get("version", ""))
    object_id = StorageObjectId(info["collection"], info["key"], info["user_id"], version)
    try:
        await console_of(request).state.storage.delete([object_id])
    except NakamaError as exc:
        raise back(object_url(info["collection"], info["key"], info["user_id"]),
                   err=f"Not deleted: {exc.message}") from None
    audit(operator.username, "deleted a storage object", collection=object_id.collection, key=object_id.key,
          user_id=object_id.user_id, version=version)
    raise back(f"/storage?collection={quote(info['collection'], safe='')}", msg="Object deleted.")
