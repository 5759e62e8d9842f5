"""Logging: JSON lines by default (``logger.format``), or plain text.

A record's structured fields travel in ``extra={"fields": {...}}``. The stdout
handler does not flush after every line (one write per request would be a
syscall per request); it flushes warnings at once and the rest within 200 ms.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from nakama_py.config import LoggerConfig

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error",
          logging.CRITICAL: "fatal"}


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
        return orjson.dumps(data, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{stamp} {_NAMES.get(record.levelno, 'info').upper():5} {record.name}: {record.getMessage()}"
        if extra:
            line += " " + extra
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


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


def setup_logging(config: LoggerConfig, *, stream: TextIO | None = None) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    formatter: logging.Formatter = JsonFormatter() if config.format == "json" else TextFormatter()
    handlers: list[logging.Handler] = []
    if config.stdout:
        handlers.append(LazyFlushHandler(stream or sys.stdout))
    if config.file:
        handlers.append(LazyFlushHandler(open(config.file, "a", encoding="utf-8")))  # noqa: SIM115
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(LEVELS[config.level])
    # aiohttp's own access log is replaced by ours (one line per request with the user id).
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def flush_logs() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
