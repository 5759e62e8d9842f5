"""The ``logger`` handed to module code: leveled, structured, tagged with its origin.

``logger.info("race submitted", user_id=uid, race_ms=ms)`` writes one line whose
fields include the module and the RPC id (or hook, job) it came from. Messages may
use %-style arguments like the standard library: ``logger.warn("slow: %d ms", ms)``.
"""

from __future__ import annotations

import logging
from typing import Any

_LOG = logging.getLogger("nakama_py.runtime")


class RuntimeLogger:
    __slots__ = ("_fields", "_log")

    def __init__(self, fields: dict[str, Any] | None = None, log: logging.Logger = _LOG) -> None:
        self._fields = dict(fields or {})
        self._log = log

    def _emit(self, level: int, msg: str, args: tuple[Any, ...], fields: dict[str, Any], exc_info: bool) -> None:
        if self._log.isEnabledFor(level):
            merged = {**self._fields, **fields} if fields else self._fields
            self._log.log(level, msg, *args, extra={"fields": merged}, exc_info=exc_info, stacklevel=3)

    def debug(self, msg: str, *args: Any, **fields: Any) -> None:
        self._emit(logging.DEBUG, msg, args, fields, False)

    def info(self, msg: str, *args: Any, **fields: Any) -> None:
        self._emit(logging.INFO, msg, args, fields, False)

    def warn(self, msg: str, *args: Any, **fields: Any) -> None:
        self._emit(logging.WARNING, msg, args, fields, False)

    warning = warn

    def error(self, msg: str, *args: Any, exc_info: bool = False, **fields: Any) -> None:
        """``exc_info=True`` inside an ``except`` block adds the traceback."""
        self._emit(logging.ERROR, msg, args, fields, exc_info)

    def with_fields(self, **fields: Any) -> RuntimeLogger:
        """A logger adding these fields to every line (Nakama's ``WithFields``)."""
        return RuntimeLogger({**self._fields, **fields}, self._log)

    def with_field(self, key: str, value: Any) -> RuntimeLogger:
        return self.with_fields(**{key: value})

    def fields(self) -> dict[str, Any]:
        return dict(self._fields)

    def __repr__(self) -> str:
        return f"RuntimeLogger({self._fields!r})"
