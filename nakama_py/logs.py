"""Logging: JSON lines by default (``logger.format``), or plain text.

A record's structured fields travel in ``extra={"fields": {...}}``. The stdout
handler does not flush after every line (one write per request would be a
syscall per request); it flushes warnings at once and the rest within 200 ms.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any, Protocol, TextIO

import orjson


class LoggerSettings(Protocol):
    """What logging reads of ``config.LoggerConfig`` (the supervisor, which imports no configuration
    model, passes the same four values)."""

    @property
    def level(self) -> str: ...
    @property
    def stdout(self) -> bool: ...
    @property
    def file(self) -> str: ...
    @property
    def format(self) -> str: ...


LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error",
          logging.CRITICAL: "fatal"}


# A JWT (session, refresh, console or match token) anywhere in a line, however it got there: a runtime
# module logging a payload, an exception's text. Its header always starts {" (base64 eyJ).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Configured secrets shorter than this are not searched for (they would mangle ordinary words).
MIN_REDACTED_LENGTH = 8


class Redactor:
    """Masks tokens and the configured secrets in every formatted line (not in the access log, which
    only ever writes route templates)."""

    def __init__(self) -> None:
        self.values: tuple[str, ...] = ()

    def __call__(self, line: str) -> str:
        if "eyJ" in line:
            line = _JWT.sub("<redacted token>", line)
        for value in self.values:
            if value in line:
                line = line.replace(value, "<redacted>")
        return line


REDACT = Redactor()


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "level": _NAMES.get(record.levelno, "info"),
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(_fields(record))
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return REDACT(orjson.dumps(data, default=str).decode())


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{stamp} {_NAMES.get(record.levelno, 'info').upper():5} {record.name}: {record.getMessage()}"
        if extra:
            line += " " + extra
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return REDACT(line)


class LazyFlushHandler(logging.StreamHandler[TextIO]):
    """A stream handler that batches flushes of routine lines."""

    interval = 0.2

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._flushed = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
            now = time.monotonic()
            if record.levelno >= logging.WARNING or now - self._flushed >= self.interval:
                self.stream.flush()
                self._flushed = now
        except Exception:
            self.handleError(record)


class AccessLog:
    """One line per HTTP request, written without the logging machinery.

    The stdlib path (LogRecord, formatter, handler) costs tens of microseconds, which
    at thousands of requests a second is a large share of the server's CPU. Lines are
    encoded directly and written in batches (at least every 200 ms).
    """

    interval = 0.2

    def __init__(self) -> None:
        self.enabled = False
        self.json = True
        self._targets: list[IO[bytes]] = []
        self._pending: list[bytes] = []
        self._size = 0
        self._flushed = time.monotonic()
        self._second = -1
        self._stamp = ""

    def configure(self, targets: list[IO[bytes]], *, json: bool, enabled: bool) -> None:
        self.flush()
        self._targets = targets
        self.json = json
        self.enabled = enabled and bool(targets)

    def _timestamp(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._stamp}.{int((now - second) * 1000):03d}Z"

    def request(self, route: str, method: str, status: int, code: int, duration_ms: float, user_id: str) -> None:
        now = time.time()
        stamp = self._timestamp(now)
        if self.json:
            line = orjson.dumps({"level": "info", "ts": stamp, "logger": "nakama_py.access", "msg": "request",
                                 "route": route, "method": method, "status": status, "code": code,
                                 "duration_ms": duration_ms, "user_id": user_id}) + b"\n"
        else:
            line = (f"{stamp} INFO  nakama_py.access: request route={route} method={method} status={status} "
                    f"code={code} duration_ms={duration_ms} user_id={user_id}\n").encode()
        self._pending.append(line)
        self._size += len(line)
        if self._size > 65536 or time.monotonic() - self._flushed >= self.interval:
            self.flush()

    def flush(self) -> None:
        self._flushed = time.monotonic()
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        for target in self._targets:
            try:
                target.write(data)
                target.flush()
            except (OSError, ValueError):
                pass


ACCESS = AccessLog()


def setup_logging(config: LoggerSettings, *, stream: TextIO | None = None, secrets: Iterable[str] = ()) -> None:
    """``secrets``: values no line may show (the configured keys and passwords), masked wherever they occur."""
    REDACT.values = tuple(sorted({value for value in secrets if len(value) >= MIN_REDACTED_LENGTH}, key=len,
                                 reverse=True))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    formatter: logging.Formatter = JsonFormatter() if config.format == "json" else TextFormatter()
    handlers: list[logging.Handler] = []
    access_targets: list[IO[bytes]] = []
    if config.stdout:
        out = stream or sys.stdout
        handlers.append(LazyFlushHandler(out))
        if hasattr(out, "buffer"):
            access_targets.append(out.buffer)
    if config.file:
        log_file = open(config.file, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        assert isinstance(log_file.buffer, io.BufferedWriter)
        handlers.append(LazyFlushHandler(log_file))
        access_targets.append(log_file.buffer)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(LEVELS[config.level])
    ACCESS.configure(access_targets, json=config.format == "json", enabled=LEVELS[config.level] <= logging.INFO)
    # aiohttp's own access log is replaced by ours (one line per request with the user id).
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def flush_logs() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
    ACCESS.flush()
