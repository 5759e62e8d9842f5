"""Before/after hooks on REST routes, as the API layer sees them.

Handlers decode a request into Nakama's request message (a dict in proto-JSON
form, snake_case names), pass it through ``before`` (a runtime module may rewrite
it, reject it with an error, or drop it by returning None, which answers 404
"Requested resource was not found."), use the possibly rewritten message, and
hand the reply to ``after``. The runtime installs the real runner; until then
the server runs with ``NoHooks``, which costs one attribute lookup per request.
"""

from __future__ import annotations

from typing import Any, Protocol

from nakama_py.wire.request_view import RequestView

Message = dict[str, Any]


class HookRunner(Protocol):
    def has_before(self, name: str) -> bool: ...

    def has_after(self, name: str) -> bool: ...

    async def run_before(self, name: str, request: RequestView, message: Message) -> Message: ...

    async def run_after(self, name: str, request: RequestView, message: Message, reply: Any) -> None: ...


class NoHooks:
    def has_before(self, name: str) -> bool:
        return False

    def has_after(self, name: str) -> bool:
        return False

    async def run_before(self, name: str, request: RequestView, message: Message) -> Message:
        return message

    async def run_after(self, name: str, request: RequestView, message: Message, reply: Any) -> None:
        return None
