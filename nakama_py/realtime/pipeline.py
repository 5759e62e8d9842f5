"""The pipeline: each envelope a client sends goes to the one handler of its message type.

A handler returns the reply (the pipeline copies the request's ``cid`` onto it) or raises
``RealtimeError`` for an ``error`` envelope. Like Nakama, a missing or unknown message is answered
with an error and the socket is closed; handler errors keep it open. Runtime ``register_rt_before``
hooks may change or reject a message, ``register_rt_after`` hooks see it with its reply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from nakama_py.errors import NakamaError
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.errors import ErrorCode, RealtimeError, from_core
from nakama_py.realtime.session import SocketSession

log = logging.getLogger("nakama_py.realtime")

Handler = Callable[[SocketSession, Envelope], Awaitable[Envelope | None]]

# Messages whose reply reaches the client before what they push to the same socket (a match join's
# own presence event): nakama-js handlers set once the join resolves must see those.
HOLD_UNTIL_REPLY = frozenset({"match_create", "match_join"})


class RtHooks(Protocol):
    """Runtime hooks for socket messages, keyed by the envelope's message field name."""

    async def before(self, session: SocketSession, name: str, envelope: Envelope) -> Envelope | None:
        """The envelope to process (possibly changed), or None when a hook rejected it."""

    async def after(self, session: SocketSession, name: str, envelope: Envelope, reply: Envelope | None) -> None: ...


class NoRtHooks:
    async def before(self, session: SocketSession, name: str, envelope: Envelope) -> Envelope | None:
        return envelope

    async def after(self, session: SocketSession, name: str, envelope: Envelope, reply: Envelope | None) -> None:
        return None


def error_envelope(cid: str, code: ErrorCode, message: str) -> Envelope:
    envelope = Envelope(cid=cid)
    envelope.error.code = code
    envelope.error.message = message
    return envelope


async def ping(session: SocketSession, envelope: Envelope) -> Envelope:
    reply = Envelope()
    reply.pong.SetInParent()
    return reply


class Pipeline:
    def __init__(self, handlers: Mapping[str, Handler], hooks: RtHooks | None = None) -> None:
        self._handlers = {"ping": ping, **handlers}
        self.hooks: RtHooks = hooks or NoRtHooks()

    async def process(self, session: SocketSession, envelope: Envelope) -> bool:
        """Handle one envelope; False when the session must now close."""
        if envelope.WhichOneof("message") not in HOLD_UNTIL_REPLY:
            return await self._process(session, envelope)
        session.hold()
        try:
            return await self._process(session, envelope)
        finally:
            session.release()

    async def _process(self, session: SocketSession, envelope: Envelope) -> bool:
        cid = envelope.cid
        name = envelope.WhichOneof("message")
        if name is None:
            session.send(error_envelope(cid, ErrorCode.MISSING_PAYLOAD, "Missing message."))
            return False
        handler = self._handlers.get(name)
        if handler is None:
            log.warning("unrecognizable payload received", extra={"fields": {"sid": session.id, "message": name}})
            session.send(error_envelope(cid, ErrorCode.UNRECOGNIZED_PAYLOAD, "Unrecognized message."))
            return False
        hooked = name != "rpc" and name != "ping"  # Nakama runs no rt hooks on RPCs
        try:
            if hooked:
                try:
                    changed = await self.hooks.before(session, name, envelope)
                except NakamaError as exc:  # a hook's refusal keeps the socket open
                    raise RealtimeError(ErrorCode.RUNTIME_FUNCTION_EXCEPTION, exc.message) from None
                if changed is None:
                    session.send(error_envelope(cid, ErrorCode.UNRECOGNIZED_PAYLOAD,
                                                "Requested resource was not found."))
                    return False
                envelope = changed
            reply = await handler(session, envelope)
        except RealtimeError as exc:
            session.send(error_envelope(cid, exc.code, exc.message))
            return not exc.close
        except NakamaError as exc:
            error = from_core(exc)
            session.send(error_envelope(cid, error.code, error.message))
            return True
        except Exception:
            log.exception("socket message handler failed", extra={"fields": {"sid": session.id, "message": name}})
            session.send(error_envelope(cid, ErrorCode.RUNTIME_EXCEPTION, "Internal Server Error"))
            return True
        if reply is not None:
            reply.cid = cid
            session.send(reply)
        if hooked:
            await self.hooks.after(session, name, envelope, reply)
        return True
