"""An aiohttp test server that serves the app the way ``nakama-py serve`` does: each connection with its
read, write and idle deadlines and the fast lane in front of aiohttp (wire/timeouts.py, wire/fast_lane.py),
so the in-process HTTP tests cover the path production requests take."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from nakama_py.server import http_timeouts
from nakama_py.state import STATE
from nakama_py.wire.timeouts import AIOHTTP_KEEPALIVE_SEC, TimedSockSite


class WireTestServer(TestServer):
    async def start_server(self, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
        if self.runner:
            return
        self._loop = loop
        self.runner = web.AppRunner(self.app, access_log=None, keepalive_timeout=AIOHTTP_KEEPALIVE_SEC)
        await self.runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port or 0))
        self.port = sock.getsockname()[1]
        await TimedSockSite(self.runner, sock, http_timeouts(self.app[STATE].config)).start()
        self.scheme = "http"
        self._root = URL(f"http://{self.host}:{self.port}")
