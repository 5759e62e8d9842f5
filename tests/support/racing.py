"""Driving the racing module in tests: its modules directory, RPC calls, and cycle timing."""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path
from typing import Any

import aiohttp

from nakama_py.config import load_config, parse_flags
from nakama_py.state import ServerState, build_state
from tests.support.server import REPO

HTTP_KEY = "defaulthttpkey"


def racing_modules(tmp: Path) -> Path:
    """A runtime.path holding only the racing package (the repository's own files)."""
    directory = tmp / "racing_modules"
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / "racing"
    if not link.exists():
        link.symlink_to(REPO / "runtime_modules" / "racing", target_is_directory=True)
    return directory


def racing_flags(tmp: Path, **env: object) -> list[str]:
    flags = ["--runtime.path", str(racing_modules(tmp))]
    for key, value in env.items():
        flags += ["--runtime.env", f"racing_{key}={value}"]
    return flags


async def start_racing_state(database: str, tmp: Path, **env: object) -> ServerState:
    """An in-process server state with the racing module (``racing_<key>`` env from ``env``) on
    ``database``, at most 10 connections; the caller closes it."""
    files, flags = parse_flags(["--database.address", database, "--data_dir", str(tmp / "data"),
                                "--logger.level", "warn", "--database.max_open_conns", "10",
                                *racing_flags(tmp, **env)])
    return await build_state(load_config(files, flags, environ={}), database)


async def rpc(session: aiohttp.ClientSession | Any, base: str, rpc_id: str, payload: Any = None, *,
              token: str | None = None, http_key: str | None = None) -> tuple[int, Any]:
    """Call an RPC the way nakama-js does (JSON-string body); (status, decoded payload or error body)."""
    url = f"{base}/v2/rpc/{rpc_id}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if http_key is not None:
        url += f"?http_key={http_key}"
    body = json.dumps(json.dumps(payload if payload is not None else {}))
    async with session.post(url, data=body, headers=headers) as response:
        data = await response.json()
        if response.status == 200:
            return 200, json.loads(data["payload"]) if data.get("payload") else None
        return response.status, data


async def until_cycle_start(length: int, margin: float = 0.2) -> int:
    """Sleep to just after the next cycle boundary; the cycle that then begins."""
    now = time.time()
    boundary = (math.floor(now / length) + 1) * length
    await asyncio.sleep(boundary - now + margin)
    return math.floor(time.time() / length)


async def until_cycle_end(cycle: int, length: int, settle: float = 1.3) -> None:
    """Sleep until the cycle has ended and the reset hook's settle time has passed."""
    await asyncio.sleep(max(0.0, (cycle + 1) * length + settle - time.time()))
