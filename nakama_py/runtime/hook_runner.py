"""The hook runner the API layer calls around REST handlers (nakama_py/route_hooks.py's HookRunner).

A before hook gets the request message and returns it (maybe rewritten) to go on,
returns None to answer 404 "Requested resource was not found.", or raises
NakamaError to reject the request with that code. Any other exception is logged
and answers 13 without details. After hooks see the reply; their errors are
logged and never change the reply, as in Nakama.
"""

from __future__ import annotations

from typing import Any

from nakama_py.core.sessions import SessionService
from nakama_py.core.tokens import SessionClaims
from nakama_py.errors import Code, NakamaError
from nakama_py.route_hooks import Message
from nakama_py.runtime.call_scope import CURRENT, CallScope, finish
from nakama_py.runtime.context import AFTER, BEFORE, Context, RuntimeInfo
from nakama_py.runtime.registry import HookEntry, Registry
from nakama_py.wire.request_view import RequestView

NOT_FOUND_MESSAGE = "Requested resource was not found."


class RuntimeHooks:
    def __init__(self, registry: Registry, info: RuntimeInfo, nk: Any, sessions: SessionService) -> None:
        self._before = registry.before
        self._after = registry.after
        self._info = info
        self._nk = nk
        self._sessions = sessions

    def has_before(self, name: str) -> bool:
        return bool(self._before) and name.lower() in self._before

    def has_after(self, name: str) -> bool:
        return bool(self._after) and name.lower() in self._after

    def _session(self, request: RequestView) -> SessionClaims | None:
        """The caller's session when the request carries a valid bearer token."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        try:
            return self._sessions.verify_session(header[7:])
        except NakamaError:
            return None

    def _reply_session(self, reply: Any) -> SessionClaims | None:
        """After an authenticate or refresh, the user is the one the new token names."""
        token = reply.get("token") if isinstance(reply, dict) else getattr(reply, "token", None)
        if not isinstance(token, str) or not token:
            return None
        try:
            return self._sessions.verify_session(token)
        except NakamaError:
            return None

    async def run_before(self, name: str, request: RequestView, message: Message) -> Message:
        entry = self._before[name.lower()]
        ctx = Context(self._info, BEFORE, self._session(request), request)
        token = CURRENT.set(scope := CallScope("before hook", entry.name, ctx.user_id))
        try:
            result = await entry.fn(ctx, entry.logger, self._nk, message)
            finish(scope)
        except NakamaError:
            raise
        except Exception:
            entry.logger.error("before hook failed", exc_info=True)
            raise NakamaError("Internal Server Error", Code.INTERNAL) from None
        finally:
            CURRENT.reset(token)
        if result is None:
            entry.logger.warn("Intercepted a disabled resource.", resource=name)
            raise NakamaError(NOT_FOUND_MESSAGE, Code.NOT_FOUND)
        if not isinstance(result, dict):
            entry.logger.error("before hook returned something other than a dict or None",
                               result_type=type(result).__name__)
            raise NakamaError("Internal Server Error", Code.INTERNAL)
        return result

    async def run_after(self, name: str, request: RequestView, message: Message, reply: Any) -> None:
        entry: HookEntry = self._after[name.lower()]
        claims = self._session(request) or self._reply_session(reply)
        ctx = Context(self._info, AFTER, claims, request)
        token = CURRENT.set(scope := CallScope("after hook", entry.name, ctx.user_id))
        try:
            await entry.fn(ctx, entry.logger, self._nk, reply, message)
            finish(scope)
        except Exception:
            entry.logger.error("after hook failed", exc_info=True)
        finally:
            CURRENT.reset(token)
