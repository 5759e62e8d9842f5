"""Running the runtime's before/after hooks around a REST handler (see nakama_py/route_hooks.py)."""

from __future__ import annotations

from typing import Any

from nakama_py.route_hooks import Message
from nakama_py.state import STATE
from nakama_py.wire.request_view import RequestView


async def before(request: RequestView, name: str, message: Message) -> Message:
    """The request message after the ``name`` before-hook (e.g. "AuthenticateCustom")."""
    hooks = request.app[STATE].hooks
    if not hooks.has_before(name):
        return message
    return await hooks.run_before(name, request, message)


async def after(request: RequestView, name: str, message: Message, reply: Any) -> None:
    hooks = request.app[STATE].hooks
    if hooks.has_after(name):
        await hooks.run_after(name, request, message, reply)


def has_after(request: RequestView, name: str) -> bool:
    """Whether an after-hook wants the reply as a message (else a kept rendering may answer)."""
    return bool(request.app[STATE].hooks.has_after(name))
