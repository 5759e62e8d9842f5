"""Runtime modules and the social routes: event functions off the request path, and
before/after hooks on the new routes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.state import ServerState, build_state
from tests.support.modules import write_module
from tests.support.users import create_user
from tests.support.wire_server import WireTestServer

Client = TestClient[web.Request, web.Application]
ConfigFactory = Callable[..., Config]

MODULE = """
import asyncio

EVENTS = []
SEEN = []
GATE = asyncio.Event()

async def on_event(ctx, logger, nk, event):
    if event.name == "slow":
        await GATE.wait()
    EVENTS.append((ctx.execution_mode, ctx.user_id, event.name, dict(event.properties), event.external))

async def before_add_friends(ctx, logger, nk, message):
    SEEN.append(("before AddFriends", ctx.user_id, list(message.get("ids", []))))
    if "usernames" in message and "nobody-please" in message["usernames"]:
        return None
    return message

async def after_create_group(ctx, logger, nk, reply, message):
    SEEN.append(("after CreateGroup", reply["name"], message["name"]))

async def before_list_groups(ctx, logger, nk, message):
    message["limit"] = 2
    return message

def init_module(ctx, logger, nk, initializer):
    initializer.register_event(on_event)
    initializer.register_before("AddFriends", before_add_friends)
    initializer.register_after("CreateGroup", after_create_group)
    initializer.register_before("ListGroups", before_list_groups)
"""


@pytest.fixture
async def social_state(make_config: ConfigFactory, database_url: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    write_module(tmp_path / "modules", "socialmod.py", MODULE)
    state = await build_state(make_config("--runtime.path", str(tmp_path / "modules"),
                                          "--runtime.event_queue_size", "2", "--runtime.event_queue_workers", "1"),
                              database_url)
    try:
        yield state
    finally:
        sys.modules["socialmod"].GATE.set()
        await state.close()


@pytest.fixture
async def social_client(social_state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(social_state)))  # type: ignore[no-any-return]


def module() -> Any:
    return sys.modules["socialmod"]


async def test_events_reach_the_handler_off_the_request_path(social_client: Client,
                                                            social_state: ServerState) -> None:
    user = await create_user(social_state)
    # the first event holds the only worker; the queue (size 2) takes two more, then drops
    for name in ("slow", "a", "b", "c"):
        response = await social_client.post("/v2/event", headers=user.auth,
                                            json={"name": name, "properties": {"k": "v"}, "external": False})
        assert response.status == 200 and await response.json() == {}
    assert module().EVENTS == []  # nothing ran on the requests' path
    module().GATE.set()
    for _ in range(100):
        if len(module().EVENTS) == 3:
            break
        await asyncio.sleep(0.02)
    assert [("event", user.user_id, name, {"k": "v"}, True) for name in ("slow", "a", "b")] == module().EVENTS
    assert social_state.runtime.nk is not None
    assert social_state.runtime.nk.event("server", {"x": "1"}) is True
    for _ in range(100):
        if len(module().EVENTS) == 4:
            break
        await asyncio.sleep(0.02)
    assert module().EVENTS[-1] == ("event", None, "server", {"x": "1"}, False)


async def test_hooks_on_social_routes(social_client: Client, social_state: ServerState) -> None:
    alice, bob = await create_user(social_state), await create_user(social_state)
    response = await social_client.post("/v2/friend", headers=alice.auth, params={"ids": bob.user_id})
    assert response.status == 200
    assert ("before AddFriends", alice.user_id, [bob.user_id]) in module().SEEN
    dropped = await social_client.post("/v2/friend", headers=alice.auth, params={"usernames": "nobody-please"})
    assert dropped.status == 404
    assert await dropped.json() == {"code": 5, "message": "Requested resource was not found."}
    for index in range(3):
        created = await social_client.post("/v2/group", headers=alice.auth,
                                           json={"name": f"hooked-{alice.user_id}-{index}"})
        assert created.status == 200
    assert ("after CreateGroup", f"hooked-{alice.user_id}-0", f"hooked-{alice.user_id}-0") in module().SEEN
    listed = await social_client.get("/v2/group", headers=alice.auth, params={"name": f"hooked-{alice.user_id}%"})
    assert len((await listed.json())["groups"]) == 2  # the before hook raised the limit from 1
