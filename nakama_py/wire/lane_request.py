"""A request parsed by the fast lane (wire/fast_lane.py), with what the wire and the handlers read of
aiohttp's ``web.Request`` (wire/request_view.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from multidict import CIMultiDictProxy, MultiDict, MultiDictProxy, MultiMapping
from yarl import URL

_EMPTY_QUERY: MultiDictProxy[str] = MultiDictProxy(MultiDict())


class LaneRequest:
    """A request parsed by the lane, in the shape the wire and the handler read (``RequestView``)."""

    __slots__ = ("_query", "_query_string", "_values", "app", "body", "headers", "match_info", "method", "path",
                 "raw_path", "transport")

    def __init__(self, app: web.Application, method: str, raw_path: str, path: str, query_string: str,
                 headers: CIMultiDictProxy[str], body: bytes, match_info: dict[str, str],
                 transport: asyncio.Transport) -> None:
        self.app = app
        self.method = method
        self.raw_path = raw_path
        self.path = path
        self._query_string = query_string
        self._query: MultiMapping[str] | None = None
        self.headers = headers
        self.body = body
        self.match_info = match_info
        self.transport: asyncio.Transport | None = transport
        self._values: dict[web.RequestKey[str], str] = {}

    @property
    def query(self) -> MultiMapping[str]:
        if self._query is None:  # decoded as aiohttp decodes it (yarl)
            self._query = (URL.build(query_string=self._query_string, encoded=True).query
                           if self._query_string else _EMPTY_QUERY)
        return self._query

    async def read(self) -> bytes:
        return self.body

    def get(self, key: web.RequestKey[str], default: Any, /) -> Any:
        return self._values.get(key, default)

    def __setitem__(self, key: web.RequestKey[str], value: str, /) -> None:
        self._values[key] = value
