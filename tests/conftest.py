"""Shared fixtures: a real PostgreSQL database per test session, configs, a server state and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config, load_config, parse_flags
from nakama_py.state import ServerState, build_state
from tests.support.database import create_database, drop_database, migrate
from tests.support.users import TestUser, create_user

ConfigFactory = Callable[..., Config]


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


@pytest.fixture
async def state(make_config: ConfigFactory, database_url: str) -> AsyncIterator[ServerState]:
    server_state = await build_state(make_config(), database_url)
    try:
        yield server_state
    finally:
        await server_state.close()


@pytest.fixture
async def client(state: ServerState, aiohttp_client: Callable[..., object]) -> TestClient:  # type: ignore[type-arg]
    return await aiohttp_client(build_app(state))  # type: ignore[no-any-return, operator]


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
