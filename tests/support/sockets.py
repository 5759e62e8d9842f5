"""A JSON socket client for tests: requests with cids, and pushed messages kept until asked for."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp


class JsonSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.cid = 0
        self.pushed: list[dict[str, Any]] = []  # messages without our cid, read while waiting for a reply

    async def request(self, message: dict[str, Any], timeout: float = 5) -> dict[str, Any]:
        """Send with a fresh cid; the reply with that cid (an ``error`` reply included)."""
        self.cid += 1
        cid = str(self.cid)
        await self.ws.send_str(json.dumps({"cid": cid, **message}))
        while True:
            reply = await self.receive(timeout)
            if reply.get("cid") == cid:
                reply.pop("cid")
                return reply
            self.pushed.append(reply)

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        message = await self.ws.receive(timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        result: dict[str, Any] = json.loads(message.data)
        return result

    async def pushed_with(self, key: str, timeout: float = 5) -> dict[str, Any]:
        """The next pushed message carrying ``key`` (earlier ones of other kinds stay queued)."""
        for index, message in enumerate(self.pushed):
            if key in message:
                return self.pushed.pop(index)[key]  # type: ignore[no-any-return]
        deadline = time.monotonic() + timeout
        while True:
            message = await self.receive(max(0.05, deadline - time.monotonic()))
            if key in message:
                return message[key]  # type: ignore[no-any-return]
            self.pushed.append(message)

    async def nothing_pushed(self, key: str, wait: float = 0.3) -> bool:
        try:
            await self.pushed_with(key, wait)
        except TimeoutError:
            return True
        return False
