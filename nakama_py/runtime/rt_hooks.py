"""Module hooks on socket messages and socket session events.

The realtime pipeline calls ``before``/``after`` for each socket message that has a hook (the
runtime never imports the realtime layer: the session is anything with the fields below). Envelopes
cross into module code as the JSON dict clients send, and come back the same way.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from google.protobuf import json_format

from nakama_py.core.tokens import SessionClaims
from nakama_py.errors import NakamaError
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.runtime.context import AFTER, BEFORE, EVENT, Context, RuntimeInfo
from nakama_py.runtime.registry import Registry


class SocketSessionLike(Protocol):
    id: str
    claims: SessionClaims
    lang: str
    client: tuple[str | None, str | None]


def _as_dict(envelope: Envelope) -> dict[str, Any]:
    return json_format.MessageToDict(envelope, preserving_proto_field_name=True, use_integers_for_enums=True)


class RuntimeRtHooks:
    def __init__(self, registry: Registry, info: RuntimeInfo, nk: Any) -> None:
        self._registry = registry
        self._info = info
        self._nk = nk

    def _ctx(self, session: SocketSessionLike, mode: str) -> Context:
        return Context(self._info, mode, session.claims, session_id=session.id, lang=session.lang,
                       client=session.client)

    async def before(self, session: SocketSessionLike, name: str, envelope: Envelope) -> Envelope | None:
        entry = self._registry.rt_before.get(name)
        if entry is None:
            return envelope
        try:
            result = await entry.fn(self._ctx(session, BEFORE), entry.logger, self._nk, _as_dict(envelope))
        except NakamaError:
            raise
        except Exception as exc:
            entry.logger.error("socket before hook failed", exc_info=True)
            raise NakamaError(str(exc) or "Internal Server Error") from exc
        if result is None:
            return None
        changed = Envelope()
        try:
            json_format.ParseDict(result, changed)
        except (json_format.ParseError, TypeError, AttributeError) as exc:
            entry.logger.error("socket before hook returned an invalid envelope", error=str(exc))
            raise NakamaError("Invalid envelope returned by the before hook") from None
        changed.cid = envelope.cid
        return changed

    async def after(self, session: SocketSessionLike, name: str, envelope: Envelope, reply: Envelope | None) -> None:
        entry = self._registry.rt_after.get(name)
        if entry is None:
            return
        try:
            await entry.fn(self._ctx(session, AFTER), entry.logger, self._nk,
                           _as_dict(reply) if reply is not None else None, _as_dict(envelope))
        except Exception:
            entry.logger.error("socket after hook failed", exc_info=True)

    async def session_event(self, session: SocketSessionLike, start: bool, reason: str = "") -> None:
        entries = self._registry.session_start if start else self._registry.session_end
        event = {"name": "session_start" if start else "session_end", "timestamp": int(time.time()),
                 "properties": {} if start else {"reason": reason}}
        for entry in entries:
            try:
                await entry.fn(self._ctx(session, EVENT), entry.logger, self._nk, event)
            except Exception:
                entry.logger.error("session event function failed", exc_info=True)
