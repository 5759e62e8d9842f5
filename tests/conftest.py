"""Shared fixtures: a real PostgreSQL database per test session, configs, a server state and an HTTP client."""

from __future__ import annotations

import asyncio
import inspect
import re
import socket
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config, load_config, parse_flags
from nakama_py.state import ServerState, build_state
from tests.support.database import create_database, drop_database, migrate
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

TIERS = ("unit", "integration", "slow", "faults")
# A test whose body or fixtures use one of these starts processes (servers, node, browsers, the bench).
PROCESS_MARKS = re.compile(r"start_server|run_client|subprocess|Popen|create_subprocess|multiprocessing|run_jest|"
                           r"ProcessPool|\bos\.fork\b|launch_browser|chromium")

# A test using one of these fixtures talks to PostgreSQL or a local server: integration, not unit.
IO_FIXTURES = {"database_url", "own_database", "standin", "stand_in", "aiohttp_client", "aiohttp_server",
               "unused_tcp_port"}

ConfigFactory = Callable[..., Config]
HttpClient = TestClient[web.Request, web.Application]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, migrated database for this test session; dropped afterwards."""
    url = create_database()
    try:
        migrate(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def make_config(database_url: str, tmp_path: Path) -> ConfigFactory:
    def factory(*flags: str) -> Config:
        # No runtime modules unless a test asks for some (--runtime.path DIR): not the repo's game modules.
        (tmp_path / "no_runtime_modules").mkdir(exist_ok=True)
        files, parsed = parse_flags(["--database.address", database_url, "--data_dir", str(tmp_path / "data"),
                                     "--logger.level", "warn", "--runtime.path", str(tmp_path / "no_runtime_modules"),
                                     "--database.max_open_conns", "10",
                                     *flags])
        return load_config(files, parsed, environ={})

    return factory


def awaiting(coro: Any) -> str:
    """Where a suspended coroutine waits: each frame down its chain of awaits."""
    lines = []
    while coro is not None and hasattr(coro, "cr_frame"):
        frame = coro.cr_frame
        if frame is not None:
            lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        coro = coro.cr_await
    if coro is not None:
        lines.append(f"  awaiting {coro!r}")
    return "\n".join(lines)


async def close_or_show_tasks(server_state: ServerState, bound_sec: float = 60.0) -> None:
    """Close the state; when that hangs, fail naming the tasks still running and where each waits
    (pytest-timeout's dump shows only threads, and the event loop idles in select)."""
    closing = asyncio.ensure_future(server_state.close())
    done, _ = await asyncio.wait({closing}, timeout=bound_sec)
    if closing in done:
        closing.result()
        return
    stacks = [f"--- {task.get_name()}\n{awaiting(task.get_coro())}" for task in asyncio.all_tasks()]
    pytest.fail(f"state.close() still running after {bound_sec:.0f} s:\n" + "\n".join(stacks))


@pytest.fixture
async def state(make_config: ConfigFactory, database_url: str) -> AsyncIterator[ServerState]:
    server_state = await build_state(make_config(), database_url)
    try:
        yield server_state
    finally:
        await close_or_show_tasks(server_state)


@pytest.fixture
async def client(state: ServerState) -> AsyncIterator[HttpClient]:
    async with TestClient(WireTestServer(build_app(state))) as test_client:
        yield test_client


@pytest.fixture
def user_factory(state: ServerState) -> Callable[..., object]:
    async def factory(username: str | None = None) -> TestUser:
        return await create_user(state, username)

    return factory


@pytest.fixture
async def alice(state: ServerState) -> TestUser:
    """A signed-in user."""
    return await create_user(state)


@pytest.fixture
async def bob(state: ServerState) -> TestUser:
    """Another signed-in user."""
    return await create_user(state)


@pytest.fixture
def own_database() -> Iterator[str]:
    """A migrated database of this test's own (for features fixed per database, such as the
    racing board's cycle length), dropped afterwards."""
    url = create_database("nakama_py_own")
    migrate(url)
    yield url
    drop_database(url)


def _source(obj: object) -> str:
    try:
        return inspect.getsource(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def _starts_processes(item: pytest.Function) -> bool:
    sources = [_source(item.function)]
    for defs in item._fixtureinfo.name2fixturedefs.values():
        sources.extend(_source(d.func) for d in defs
                       if d.argname != "_unit_tests_do_no_io" and "site-packages" not in inspect.getfile(d.func))
    return any(PROCESS_MARKS.search(text) for text in sources)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test belongs to one tier (README: ``pytest -m unit|integration|slow``). An explicit
    marker wins; otherwise a test that starts processes is ``slow``, one that uses a database
    fixture is ``integration``, and the rest is ``unit`` (and may not do I/O: see below)."""
    for item in items:
        if "tests/faults/" in item.nodeid:  # kills, outages and overload under load: a tier of its own
            item.add_marker(pytest.mark.faults)
        if any(item.get_closest_marker(tier) for tier in TIERS):
            continue
        if isinstance(item, pytest.Function) and _starts_processes(item):
            item.add_marker(pytest.mark.slow)
        elif "tests/unit/" in item.nodeid or not IO_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.unit)
        else:
            item.add_marker(pytest.mark.integration)


def _refuse_io(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a unit test may not open connections or start processes: mark it integration or slow")


@pytest.fixture(autouse=True)
def _unit_tests_do_no_io(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps the unit tier honest: connecting anywhere or starting a process fails the test."""
    if request.node.get_closest_marker("unit") is not None:
        monkeypatch.setattr(socket.socket, "connect", _refuse_io)
        monkeypatch.setattr(socket.socket, "connect_ex", _refuse_io)
        monkeypatch.setattr(subprocess.Popen, "__init__", _refuse_io)


@pytest.fixture
def wrk_installed() -> str:
    """The load generator's wrk engine: a missing wrk fails the test rather than skipping it."""
    from nakama_py.bench.wrk import find_wrk

    path = find_wrk()
    assert path is not None, "wrk is not installed: apt-get install wrk (.ci/run installs it)"
    return path
