"""A forgotten ``await`` on an ``nk`` call never passes silently: the RPC (hook, init_module)
fails, the log names the call and the ``nk`` function, and the write never happened."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.errors import Code
from nakama_py.runtime.call_scope import CURRENT, CallScope, finish, tracked
from nakama_py.runtime.loader import RuntimeLoadError
from nakama_py.state import ServerState, build_state
from tests.support.modules import state_with_module, write_module
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

ConfigFactory = Callable[..., Config]
Client = TestClient[Any, Any]
HTTP_KEY = "unawaited-key"

MODULE = """
    import asyncio

    def write(key):
        return [{"collection": "unawaited", "key": key, "value": {"v": 1}}]

    async def forgot(ctx, logger, nk, payload):
        nk.storage_write(write(payload))  # no await: the bug under test
        return "done"

    async def awaited(ctx, logger, nk, payload):
        await nk.storage_write(write(payload))
        return "done"

    async def later(ctx, logger, nk, payload):
        pending = nk.storage_write(write(payload))  # kept, then awaited: fine
        await asyncio.sleep(0)
        await pending
        return "done"

    async def in_a_task(ctx, logger, nk, payload):
        # Fire and forget: a task runs it after the RPC returns, so it is not lost.
        asyncio.get_running_loop().create_task(nk.storage_write(write(payload)))
        return "done"

    async def many(ctx, logger, nk, payload):
        for i in range(500):
            await nk.storage_read([{"collection": "unawaited", "key": f"none-{i}"}])
        return "done"

    async def tidy(ctx, logger, nk):
        nk.storage_delete([{"collection": "unawaited", "key": "k-awaited"}])

    async def before_get_account(ctx, logger, nk, message):
        nk.storage_write(write("from-hook"))
        return message

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rpc("forgot", forgot)
        initializer.register_rpc("awaited", awaited)
        initializer.register_rpc("later", later)
        initializer.register_rpc("in_a_task", in_a_task)
        initializer.register_rpc("many", many)
        initializer.register_before("GetAccount", before_get_account)
        initializer.register_background_job("tidy", 3600, tidy)
"""


@pytest.fixture
async def module_state(make_config: ConfigFactory, database_url: str, tmp_path: Path,
                       ) -> AsyncIterator[ServerState]:
    async with state_with_module(make_config, database_url, tmp_path / "modules", "calls.py", MODULE,
                                 "--runtime.http_key", HTTP_KEY) as state:
        yield state


@pytest.fixture
async def http(module_state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(module_state)))  # type: ignore[no-any-return]


async def stored(state: ServerState, key: str) -> bool:
    count = await state.db.fetchval("SELECT count(*) FROM storage WHERE collection = 'unawaited' AND key = %s",
                                    (key,))
    return bool(count)


async def call(http: Client, rpc_id: str, payload: str) -> tuple[int, str]:
    response = await http.post(f"/v2/rpc/{rpc_id}?http_key={HTTP_KEY}&unwrap", data=payload)
    return response.status, await response.text()


async def test_an_rpc_that_forgets_to_await_fails_and_the_log_names_the_rpc_and_the_call(
        http: Client, module_state: ServerState, caplog: pytest.LogCaptureFixture) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # closed, not left to warn "never awaited" at garbage collection
        with caplog.at_level(logging.ERROR, logger="nakama_py.runtime"):
            status, body = await call(http, "forgot", "k-forgot")
    assert status == 500
    assert '"code":13' in body and "Internal Server Error" in body and "storage_write" not in body
    failure = next(r for r in caplog.records if r.getMessage() == "RPC function failed")
    assert failure.exc_info is not None
    assert "rpc 'forgot' returned without awaiting nk.storage_write" in str(failure.exc_info[1])
    assert not await stored(module_state, "k-forgot")


async def test_awaited_kept_and_task_run_calls_pass(http: Client, module_state: ServerState) -> None:
    for rpc_id in ("awaited", "later", "in_a_task"):
        assert await call(http, rpc_id, f"k-{rpc_id}") == (200, "done")
    assert await stored(module_state, "k-awaited")
    assert await stored(module_state, "k-later")
    assert await call(http, "many", "") == (200, "done")


async def test_a_before_hook_that_forgets_to_await_rejects_the_request(
        http: Client, module_state: ServerState, caplog: pytest.LogCaptureFixture) -> None:
    user: TestUser = await create_user(module_state)
    with caplog.at_level(logging.ERROR, logger="nakama_py.runtime"):
        response = await http.get("/v2/account", headers={"Authorization": f"Bearer {user.token}"})
    assert response.status == 500
    assert (await response.json())["code"] == Code.INTERNAL
    failure = next(r for r in caplog.records if r.getMessage() == "before hook failed")
    assert failure.exc_info is not None
    assert "before hook 'getaccount' returned without awaiting nk.storage_write" in str(failure.exc_info[1])
    assert not await stored(module_state, "from-hook")


async def test_a_background_job_that_forgets_to_await_is_logged_as_failed(
        http: Client, module_state: ServerState, caplog: pytest.LogCaptureFixture) -> None:
    assert await call(http, "awaited", "k-awaited") == (200, "done")
    job = module_state.runtime.registry.jobs["tidy"]
    with caplog.at_level(logging.ERROR, logger="nakama_py.runtime"):
        await module_state.runtime.run_job(job)
    failure = next(r for r in caplog.records if r.getMessage() == "background job failed")
    assert failure.exc_info is not None
    assert "background job 'tidy' returned without awaiting nk.storage_delete" in str(failure.exc_info[1])
    assert await stored(module_state, "k-awaited")  # the delete never ran


async def test_init_module_that_forgets_to_await_stops_the_load(
        make_config: ConfigFactory, database_url: str, tmp_path: Path) -> None:
    write_module(tmp_path / "broken", "setup.py", """
        def init_module(ctx, logger, nk, initializer):
            nk.leaderboard_create("never-created")
    """)
    with pytest.raises(RuntimeLoadError, match=re.escape("init_module of 'setup' returned without awaiting "
                                                         "nk.leaderboard_create")):
        await build_state(make_config("--runtime.path", str(tmp_path / "broken")), database_url)


async def test_a_long_call_keeps_only_its_pending_coroutines() -> None:
    @tracked
    async def step(n: int) -> int:
        return n

    scope = CallScope("background job", "long")
    token = CURRENT.set(scope)
    try:
        for n in range(10_000):
            assert await step(n) == n
        assert len(scope.started) < 64
        finish(scope)
    finally:
        CURRENT.reset(token)
