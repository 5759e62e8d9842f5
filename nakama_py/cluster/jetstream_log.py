"""The event log (cluster/event_log.py) on NATS JetStream, at ``cluster.nats_url``.

Log ``L`` is the stream ``<prefix>_log_L`` on subject ``<prefix>.log.L`` (file storage, work-queue
retention: an entry is removed once handled; ``MAX_AGE_SEC`` bounds what is never handled). The
``Nats-Msg-Id`` header carries ``msg_id``, so JetStream drops a second append of one id within
``DUPLICATE_WINDOW_SEC``. Every process consuming ``L`` pulls from the one durable consumer
``L_apply``: JetStream hands each entry to one puller at a time and redelivers what is not
acknowledged within ``ACK_WAIT_SEC`` (a process killed mid-batch) or is negatively acknowledged
(a handler that raised). The connection reconnects forever; a NATS restart loses nothing stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from nakama_py.cluster.event_log import BatchHandler, EventLogUnavailable, LogAppend, LogEntry, check_log_name
from nakama_py.cluster.tasks import cancel_and_wait, raise_if_cancelled

log = logging.getLogger("nakama_py.cluster")

DUPLICATE_WINDOW_SEC = 300.0
ACK_WAIT_SEC = 15.0
MAX_AGE_SEC = 7 * 86400.0
REQUEST_TIMEOUT_SEC = 5.0
CONNECT_TIMEOUT_SEC = 5.0
RETRY_SEC = 0.5
NAK_DELAY_SEC = 1.0


@dataclass(frozen=True, slots=True)
class _Consumer:
    log: str
    handler: BatchHandler
    batch_size: int
    max_wait: float


class JetStreamLog:
    def __init__(self, url: str, process: str, *, prefix: str = "nakama", ack_wait: float = ACK_WAIT_SEC) -> None:
        self.url = url
        self.process = process
        self.prefix = prefix
        self.ack_wait = ack_wait
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._consumers: list[_Consumer] = []
        self._ready: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def _stream(self, name: str) -> str:
        return f"{self.prefix}_log_{name}"

    def _subject(self, name: str) -> str:
        return f"{self.prefix}.log.{name}"

    @staticmethod
    def _durable(name: str) -> str:
        return f"{name}_apply"

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._nc = await nats.connect(
            self.url, name=f"{self.process}-log", connect_timeout=CONNECT_TIMEOUT_SEC, allow_reconnect=True,
            max_reconnect_attempts=-1, reconnect_time_wait=RETRY_SEC, error_cb=self._error,
            disconnected_cb=self._disconnected, reconnected_cb=self._reconnected)
        self._js = self._nc.jetstream(timeout=REQUEST_TIMEOUT_SEC)
        for consumer in self._consumers:
            await self._ensure(consumer.log)
            self._tasks.append(asyncio.create_task(self._consume(consumer), name=f"event-log-{consumer.log}"))

    async def stop(self) -> None:
        self._stopping = True
        await cancel_and_wait(*self._tasks)  # nats-py's fetch can lose a cancellation (cluster/tasks.py)
        self._tasks.clear()
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(NatsError, OSError):
                await self._nc.drain()
        self._nc = None

    async def _error(self, exc: Exception) -> None:
        log.warning("event log NATS error", extra={"fields": {"error": str(exc)}})

    async def _disconnected(self) -> None:
        if not self._stopping:
            log.warning("event log lost its NATS connection; reconnecting")

    async def _reconnected(self) -> None:
        log.warning("event log reconnected to NATS")

    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise EventLogUnavailable("the event log is not started")
        return self._js

    async def _ensure(self, name: str) -> None:
        """The log's stream and durable consumer exist (created by whichever process comes first)."""
        if name in self._ready:
            return
        js = self._jetstream()
        config = StreamConfig(name=self._stream(name), subjects=[self._subject(name)], storage=StorageType.FILE,
                              retention=RetentionPolicy.WORK_QUEUE, duplicate_window=DUPLICATE_WINDOW_SEC,
                              max_age=MAX_AGE_SEC)
        try:
            await js.stream_info(self._stream(name))
        except NotFoundError:
            with contextlib.suppress(nats.js.errors.BadRequestError):  # another process created it meanwhile
                await js.add_stream(config)
        with contextlib.suppress(nats.js.errors.BadRequestError):
            await js.add_consumer(self._stream(name), ConsumerConfig(
                durable_name=self._durable(name), ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait,
                max_ack_pending=-1, filter_subject=self._subject(name)))
        self._ready.add(name)

    # --- appending ----------------------------------------------------------------------------

    async def append(self, log_name: str, data: bytes, msg_id: str) -> LogAppend:
        check_log_name(log_name)
        try:
            await self._ensure(log_name)
            ack = await self._jetstream().publish(self._subject(log_name), data, timeout=REQUEST_TIMEOUT_SEC,
                                                  headers={"Nats-Msg-Id": msg_id})
        except (TimeoutError, NatsError, OSError) as exc:
            raise EventLogUnavailable(f"event log {log_name!r}: {exc or type(exc).__name__}") from None
        return LogAppend(ack.seq, bool(ack.duplicate))

    # --- consuming ----------------------------------------------------------------------------

    def consume(self, log_name: str, handler: BatchHandler, *, batch_size: int, max_wait: float) -> None:
        check_log_name(log_name)
        self._consumers.append(_Consumer(log_name, handler, batch_size, max_wait))

    async def _consume(self, consumer: _Consumer) -> None:
        name = consumer.log
        subscription = None
        while True:
            raise_if_cancelled()
            try:
                if subscription is None:
                    await self._ensure(name)
                    subscription = await self._jetstream().pull_subscribe_bind(
                        self._durable(name), stream=self._stream(name))
                try:
                    messages = await subscription.fetch(consumer.batch_size, timeout=consumer.max_wait)
                except (TimeoutError, NatsTimeout):  # nothing to fetch within max_wait
                    continue
                await self._handle(consumer, messages)
            except asyncio.CancelledError:
                raise
            except (TimeoutError, NatsError, OSError) as exc:
                log.warning("event log consumer waiting for NATS", extra={"fields": {"log": name, "error": str(exc)}})
                await asyncio.sleep(RETRY_SEC)

    async def _handle(self, consumer: _Consumer, messages: list[Msg]) -> None:
        entries = [LogEntry(msg_id=(m.headers or {}).get("Nats-Msg-Id", ""), data=m.data,
                            sequence=m.metadata.sequence.stream, deliveries=m.metadata.num_delivered,
                            appended_at=m.metadata.timestamp.timestamp()) for m in messages]
        try:
            await consumer.handler(entries)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event log batch failed; it will be delivered again",
                          extra={"fields": {"log": consumer.log, "entries": len(entries)}})
            for message in messages:
                with contextlib.suppress(NatsError, OSError):
                    await message.nak(delay=NAK_DELAY_SEC)
            return
        for message in messages:
            await message.ack()  # a lost ack only means a redelivery, which the handler's receipts absorb

    # --- progress -----------------------------------------------------------------------------

    async def _progress(self, name: str) -> tuple[int, int, int]:
        """(last appended sequence, acknowledged floor, pending + in flight)."""
        js = self._jetstream()
        try:
            await self._ensure(name)
            stream = await js.stream_info(self._stream(name))
            info = await js.consumer_info(self._stream(name), self._durable(name))
        except (TimeoutError, NatsError, OSError) as exc:
            raise EventLogUnavailable(f"event log {name!r}: {exc or type(exc).__name__}") from None
        floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
        return (stream.state.last_seq, floor or 0, (info.num_pending or 0) + (info.num_ack_pending or 0))

    async def wait_applied(self, log_name: str, timeout: float) -> bool:
        check_log_name(log_name)
        deadline = time.monotonic() + timeout
        last, floor, backlog = await self._progress(log_name)
        while floor < last and backlog > 0:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
            _, floor, backlog = await self._progress(log_name)
        return True

    async def backlog(self, log_name: str) -> int:
        check_log_name(log_name)
        return (await self._progress(log_name))[2]
