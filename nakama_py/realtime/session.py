"""One connected socket: who it is, its bounded outgoing queue and its writer, ping and close.

Everything sent to the client goes through ``enqueue``; a client that does not read fast enough
fills the queue (``socket.outgoing_queue_size``) and is disconnected rather than let the server
buffer without bound (Nakama's rule). Writes taking longer than ``socket.write_wait_ms`` and
pongs missing for ``socket.pong_wait_ms`` close the socket too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, web

from nakama_py.config import SocketConfig
from nakama_py.core.tokens import SessionClaims
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.codec import Format, encode

log = logging.getLogger("nakama_py.realtime")

QUEUE_FULL = "session outgoing queue full"


class SocketSession:
    def __init__(self, ws: web.WebSocketResponse, claims: SessionClaims, fmt: Format, lang: str,
                 client: tuple[str | None, str | None], config: SocketConfig) -> None:
        self.id = str(uuid.uuid4())
        self.ws = ws
        self.claims = claims
        self.user_id = claims.user_id
        self.username = claims.username
        self.format = fmt
        self.lang = lang
        self.client = client
        self._config = config
        self._queue: asyncio.Queue[bytes | str] = asyncio.Queue(config.outgoing_queue_size)
        self._last_alive = time.monotonic()
        self._received_until_reset = config.ping_backoff_threshold
        self._tasks: list[asyncio.Task[None]] = []
        self.closed = False
        self.closing = False
        self.close_reason = ""
        self._on_close: Callable[[SocketSession], Awaitable[None]] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._held: list[bytes | str] | None = None

    # --- sending ---------------------------------------------------------------------------------

    def send(self, envelope: Envelope) -> bool:
        """A reply or an error: never held back (see ``hold``)."""
        return self._put(encode(envelope, self.format))

    def enqueue(self, frame: bytes | str) -> bool:
        """Queue one frame pushed to this socket; False (and the socket closing) when the client cannot keep up."""
        if self._held is not None:
            if len(self._held) >= self._queue.maxsize:  # held frames count against the same bound
                return self._put(frame)
            self._held.append(frame)
            return True
        return self._put(frame)

    def hold(self) -> None:
        """Keep pushed frames back until ``release``: a join's reply goes out before the presence
        events the join itself caused, as Nakama's clients expect (its tracker sends them later)."""
        self._held = []

    def release(self) -> None:
        held, self._held = self._held, None
        for frame in held or ():
            self._put(frame)

    def _put(self, frame: bytes | str) -> bool:
        if self.closing:
            return False
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("could not write message, session outgoing queue full",
                        extra={"fields": {"sid": self.id, "uid": self.user_id}})
            self.start_close(QUEUE_FULL, WSCloseCode.POLICY_VIOLATION)
            return False
        return True

    async def _write_loop(self) -> None:
        wait = self._config.write_wait_ms / 1000
        ws = self.ws
        while True:
            frame = await self._queue.get()
            try:
                async with asyncio.timeout(wait):  # not wait_for: on 3.11 it can swallow a cancel
                    if isinstance(frame, bytes):
                        await ws.send_bytes(frame)
                    else:
                        await ws.send_str(frame)
            except (TimeoutError, ConnectionError, RuntimeError):
                self.start_close("write failed or timed out", WSCloseCode.GOING_AWAY)
                return
            finally:
                self._queue.task_done()

    # --- keep-alive ----------------------------------------------------------------------------------

    def saw_pong(self) -> None:
        self._last_alive = time.monotonic()

    def saw_message(self) -> None:
        """Like Nakama, a busy client counts as alive every ``ping_backoff_threshold`` messages."""
        self._received_until_reset -= 1
        if self._received_until_reset <= 0:
            self._received_until_reset = self._config.ping_backoff_threshold
            self._last_alive = time.monotonic()

    async def _ping_loop(self) -> None:
        period = self._config.ping_period_ms / 1000
        pong_wait = self._config.pong_wait_ms / 1000
        while True:
            await asyncio.sleep(period)
            if time.monotonic() - self._last_alive > pong_wait:
                self.start_close("pong not received in time", WSCloseCode.GOING_AWAY)
                return
            try:
                async with asyncio.timeout(self._config.write_wait_ms / 1000):
                    await self.ws.ping()
            except (TimeoutError, ConnectionError, RuntimeError):
                self.start_close("ping failed", WSCloseCode.GOING_AWAY)
                return

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self, on_close: Callable[[SocketSession], Awaitable[None]]) -> None:
        self._on_close = on_close
        self._last_alive = time.monotonic()
        self._tasks = [asyncio.create_task(self._write_loop(), name=f"ws-write-{self.id}"),
                       asyncio.create_task(self._ping_loop(), name=f"ws-ping-{self.id}")]

    def start_close(self, reason: str, code: int = WSCloseCode.OK) -> None:
        """Close from anywhere (a full queue, another socket of the user, shutdown) without waiting."""
        if not self.closed and not self.closing:
            self.closing = True  # nothing more is queued from now on
            self.close_reason = reason
            self._closer = asyncio.get_running_loop().create_task(self.close(reason, code))  # kept: tasks are weak

    async def close(self, reason: str = "", code: int = WSCloseCode.OK) -> None:
        if self.closed:
            return
        self.closed = self.closing = True
        self.close_reason = self.close_reason or reason
        if reason:
            log.info("closing socket session", extra={"fields": {"sid": self.id, "uid": self.user_id,
                                                                  "reason": reason}})
        if code == WSCloseCode.OK:
            await self._drain(self._config.write_wait_ms / 1000)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._on_close is not None:  # presences go first: they must not wait on a slow client
            await self._on_close(self)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code), self._config.close_ack_wait_ms / 1000)

    async def _drain(self, timeout: float) -> None:
        """Let the writer send what is queued (a reply before a server-initiated close)."""
        if not self.ws.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout)
