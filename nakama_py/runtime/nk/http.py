"""``nk.http_request``: an outgoing HTTP call from a module (Nakama's ``http_request``).

One connection pool per process (aiohttp), opened on first use and closed when the runtime shuts
down. Every call is bounded by its timeout; a failure to connect or a timeout is a ``NakamaError``
with code 14 (unavailable), so an RPC that lets it through answers 503.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from nakama_py.errors import Code, NakamaError, invalid_argument
from nakama_py.runtime.call_scope import tracked
from nakama_py.runtime.types import HttpResult

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
MAX_TIMEOUT_MS = 60_000


class HttpCalls:
    _http: aiohttp.ClientSession | None = None

    @tracked
    async def http_request(self, url: str, method: str = "GET", headers: Mapping[str, str] | None = None,
                           body: str = "", timeout_ms: int = 5000) -> HttpResult:
        """Send one HTTP request and read the whole response (text) within ``timeout_ms``."""
        verb = method.upper()
        if verb not in METHODS:
            raise invalid_argument(f"http_request: method must be one of {', '.join(sorted(METHODS))}")
        if not url.startswith(("http://", "https://")):
            raise invalid_argument("http_request: url must start with http:// or https://")
        if not 0 < timeout_ms <= MAX_TIMEOUT_MS:
            raise invalid_argument(f"http_request: timeout_ms must be from 1 to {MAX_TIMEOUT_MS}")
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        try:
            async with self._http.request(verb, url, headers=dict(headers or {}), data=body or None,
                                          timeout=aiohttp.ClientTimeout(total=timeout_ms / 1000)) as response:
                text = await response.text()
                return HttpResult(response.status, dict(response.headers), text)
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The message names the host, never the query string (it may carry a key).
            raise NakamaError(f"http_request to {url.split('?', 1)[0]} failed: {type(exc).__name__}",
                              Code.UNAVAILABLE) from None

    async def _close_http(self) -> None:
        """Close the connection pool (the runtime's shutdown calls it)."""
        if self._http is not None:
            await self._http.close()
            self._http = None
