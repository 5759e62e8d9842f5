"""Just enough HTTP/1.1 for a load generator: request bytes built once, and an incremental
response parser (Content-Length, chunked, or read-until-close bodies; keep-alive aware).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from urllib.parse import quote

import orjson

# Called once per complete response: status, body (b"" unless bodies are kept), server closes after it.
ResponseCallback = Callable[[int, bytes, bool], None]

MAX_HEAD_BYTES = 64 * 1024

_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_TRAILER, _UNTIL_CLOSE = range(6)


class ProtocolError(Exception):
    """The peer sent something that is not an HTTP/1.x response."""


def basic_auth(key: str) -> str:
    """Nakama's server-key / http-key Basic credentials: the key as username, empty password."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def rpc_body(payload: object) -> bytes:
    """An RPC body as clients send it: the payload's JSON, encoded again as a JSON string."""
    text = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
    return orjson.dumps(text)


def rpc_path(rpc_id: str, http_key: str | None = None) -> str:
    path = "/v2/rpc/" + quote(rpc_id, safe="")
    return path + ("?http_key=" + quote(http_key, safe="") if http_key is not None else "")


def request_head(method: str, path: str, host: str, headers: Mapping[str, str]) -> bytes:
    """Request line and headers, without Content-Length and the blank line (see ``finish``)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json",
             "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def finish(head: bytes, body: bytes) -> bytes:
    """A complete request from ``request_head`` output and a body (empty for none)."""
    if body:
        return head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    return head + b"\r\n"


def build_request(method: str, path: str, host: str, headers: Mapping[str, str], body: bytes = b"") -> bytes:
    return finish(request_head(method, path, host, headers), body)


class ResponseParser:
    """Feeds on socket data and reports each complete response to a callback."""

    __slots__ = ("_buf", "_close", "_keep_body", "_need", "_on_response", "_parts", "_state", "_status")

    def __init__(self, on_response: ResponseCallback, *, keep_body: bool = False) -> None:
        self._on_response = on_response
        self._keep_body = keep_body
        self._buf = bytearray()
        self._state = _HEAD
        self._status = 0
        self._need = 0
        self._close = False
        self._parts: list[bytes] = []

    @property
    def idle(self) -> bool:
        """No partial response is buffered."""
        return self._state == _HEAD and not self._buf

    def feed(self, data: bytes) -> None:
        if self._state == _HEAD and not self._buf and self._fast(data):
            return
        buf = self._buf
        buf += data
        while buf:
            state = self._state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD_BYTES:
                        raise ProtocolError("response head too large")
                    return
                self._parse_head(bytes(buf[:end + 2]))
                del buf[:end + 4]
                if self._state == _HEAD:  # a response with no body
                    self._complete()
            elif state == _BODY:
                if len(buf) < self._need:
                    return
                if self._keep_body:
                    self._parts.append(bytes(buf[:self._need]))
                del buf[:self._need]
                self._complete()
            elif state == _CHUNK_SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                try:
                    size = int(bytes(buf[:end]).split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ProtocolError("bad chunk size") from None
                del buf[:end + 2]
                if size == 0:
                    self._state = _CHUNK_TRAILER
                else:
                    self._need = size + 2  # the chunk and its CRLF
                    self._state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                if len(buf) < self._need:
                    return
                if self._keep_body:
                    self._parts.append(bytes(buf[:self._need - 2]))
                del buf[:self._need]
                self._state = _CHUNK_SIZE
            elif state == _CHUNK_TRAILER:
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                del buf[:end + 2]
                if end == 0:  # the empty line closing the trailers
                    self._complete()
            else:  # _UNTIL_CLOSE: the body runs to the end of the connection
                if self._keep_body:
                    self._parts.append(bytes(buf))
                buf.clear()

    def _fast(self, data: bytes) -> bool:
        """The usual case in one step: exactly one whole keep-alive 2xx answer with a Content-Length."""
        end = data.find(b"\r\n\r\n")
        if end < 0 or not data.startswith(b"HTTP/1.1 2") or data.startswith(b"204", 9):
            return False
        lower = data[:end + 2].lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0 or b"\r\ntransfer-encoding:" in lower or b"\r\nconnection:" in lower:
            return False
        try:
            length = int(lower[at + 17:lower.find(b"\r\n", at + 17)])
            status = int(data[9:12])
        except ValueError:
            return False
        if end + 4 + length != len(data):
            return False
        self._on_response(status, data[end + 4:] if self._keep_body else b"", False)
        return True

    def connection_closed(self) -> bool:
        """Ends a read-until-close body; True when that completed a response."""
        if self._state == _UNTIL_CLOSE:
            self._complete()
            return True
        return False

    def _parse_head(self, head: bytes) -> None:
        if not head.startswith(b"HTTP/1.") or len(head) < 12:
            raise ProtocolError("not an HTTP/1.x response: " + repr(head[:40]))
        try:
            status = int(head[9:12])
        except ValueError:
            raise ProtocolError("bad status line: " + repr(head[:40])) from None
        lower = head.lower()
        self._status = status
        self._close = head[5:8] == b"1.0"
        connection = _header(lower, b"connection")
        if connection is not None:
            self._close = b"close" in connection or (self._close and b"keep-alive" not in connection)
        if status < 200 or status in (204, 304):
            if 100 <= status < 200:  # an interim response: the real one follows
                self._state = _HEAD
                self._status = -1
                return
            self._state = _HEAD
            return
        encoding = _header(lower, b"transfer-encoding")
        if encoding is not None and b"chunked" in encoding:
            self._state = _CHUNK_SIZE
            return
        length = _header(lower, b"content-length")
        if length is not None:
            try:
                self._need = int(length)
            except ValueError:
                raise ProtocolError("bad Content-Length") from None
            self._state = _BODY if self._need else _HEAD
            return
        self._state = _UNTIL_CLOSE
        self._close = True

    def _complete(self) -> None:
        status = self._status
        self._state = _HEAD
        if status < 0:  # the end of an interim 1xx response
            return
        body = b"".join(self._parts) if self._parts else b""
        self._parts = []
        self._on_response(status, body, self._close)


def _header(lower_head: bytes, name: bytes) -> bytes | None:
    at = lower_head.find(b"\r\n" + name + b":")
    if at < 0:
        return None
    start = at + len(name) + 3
    end = lower_head.find(b"\r\n", start)
    return lower_head[start:end if end >= 0 else len(lower_head)].strip()
