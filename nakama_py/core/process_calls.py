"""Request and reply between server processes over the cluster bus.

A service that keeps state on one process (a party lives on its creator's process) serves calls on
the topic ``nakama.<service>.<process>``; a caller on any process publishes its request there and
waits for the reply on its own topic of the same service. A call to this process runs the handler
directly. The bus is at-most-once: a request or reply that is lost, or a process that is gone,
shows as ``CallFailed`` after the timeout, never as a hang. A ``NakamaError`` the handler raises
travels back and is raised again at the caller, with its message and code.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from nakama_py.cluster.bus import BusUnavailable, ClusterBus
from nakama_py.errors import Code, NakamaError

log = logging.getLogger("nakama_py.realtime")

CALL_TIMEOUT_SEC = 5.0

Request = dict[str, Any]
Reply = dict[str, Any]
CallHandler = Callable[[Request], Awaitable[Reply]]


class CallFailed(Exception):
    """The other process did not answer in time (gone, partitioned or the bus lost a message)."""


class ProcessCalls:
    def __init__(self, bus: ClusterBus, service: str, *, timeout: float = CALL_TIMEOUT_SEC) -> None:
        self._bus = bus
        self._prefix = f"nakama.{service}."
        self._timeout = timeout
        self.process = bus.process
        self._handler: CallHandler | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Reply]] = {}
        self._running: set[asyncio.Task[None]] = set()
        bus.subscribe(self._prefix + self.process, self._on_message, echo=False)

    def serve(self, handler: CallHandler) -> None:
        self._handler = handler

    async def call(self, process: str, request: Request, *, timeout: float | None = None) -> Reply:
        """The reply of ``process``'s handler to ``request`` (JSON-able values only)."""
        if process == self.process:
            return await self._handle(request)
        call_id = next(self._ids)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        try:
            await self._bus.publish(self._prefix + process,
                                    orjson.dumps({"id": call_id, "from": self.process, "req": request}))
            reply = await asyncio.wait_for(future, timeout or self._timeout)
        except (TimeoutError, BusUnavailable) as exc:
            raise CallFailed(f"no reply from process {process}") from exc
        finally:
            self._waiting.pop(call_id, None)
        if "err" in reply:
            raise NakamaError(reply["err"], Code(reply["code"]))
        return reply["ok"]  # type: ignore[no-any-return]

    async def _handle(self, request: Request) -> Reply:
        if self._handler is None:
            raise NakamaError("service not ready", Code.UNAVAILABLE)
        return await self._handler(request)

    def _on_message(self, payload: bytes) -> None:
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("undecodable process call dropped")
            return
        if "re" in message:  # a reply to one of our calls
            future = self._waiting.get(message["re"])
            if future is not None and not future.done():
                future.set_result(message)
            return
        task = asyncio.get_running_loop().create_task(self._answer(message))
        self._running.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._running.discard)

    async def _answer(self, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"re": message["id"]}
        try:
            reply["ok"] = await self._handle(message["req"])
        except NakamaError as exc:
            reply["err"], reply["code"] = exc.message, int(exc.code)
        except Exception:
            log.exception("process call failed")
            reply["err"], reply["code"] = "Internal Server Error", int(Code.INTERNAL)
        try:
            await self._bus.publish(self._prefix + message["from"], orjson.dumps(reply))
        except BusUnavailable:
            log.warning("process call reply lost: bus unavailable")
