"""``rpc`` over the socket: the same runtime call as ``/v2/rpc``, with the socket session's context."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from nakama_py.errors import NakamaError
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.errors import ErrorCode, RealtimeError
from nakama_py.realtime.session import SocketSession
from nakama_py.runtime.context import RPC, Context
from nakama_py.runtime.service import LoadedRuntime


class RpcHandler:
    def __init__(self, runtime: Callable[[], LoadedRuntime],
                 settle: Callable[[float], Awaitable[None]] | None = None) -> None:
        self._runtime = runtime  # the runtime loaded now (modules load after the pipeline is built)
        # Awaited before the answer, as on HTTP (wire/middleware.py): a write's hold for other nodes' readers.
        self._settle = settle

    async def rpc(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.rpc
        if not request.id:
            raise RealtimeError(ErrorCode.BAD_INPUT, "RPC ID must be set")
        runtime = self._runtime()
        entry = runtime.rpc(request.id)
        if entry is None:
            raise RealtimeError(ErrorCode.RUNTIME_FUNCTION_NOT_FOUND, "RPC function not found")
        ctx = Context(runtime.info, RPC, session.claims, session_id=session.id, lang=session.lang,
                      client=session.client)
        since = time.monotonic()
        try:
            result = await runtime.call_rpc(entry, ctx, request.payload)
        except NakamaError as exc:
            if self._settle is not None:
                await self._settle(since)
            raise RealtimeError(ErrorCode.RUNTIME_FUNCTION_EXCEPTION, exc.message) from None
        if self._settle is not None:
            await self._settle(since)
        reply = Envelope()
        reply.rpc.id = request.id
        reply.rpc.payload = result if isinstance(result, str) else result.decode("utf-8", "replace")
        return reply
