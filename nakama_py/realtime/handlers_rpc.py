"""``rpc`` over the socket: the same runtime call as ``/v2/rpc``, with the socket session's context."""

from __future__ import annotations

from collections.abc import Callable

from nakama_py.errors import NakamaError
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.errors import ErrorCode, RealtimeError
from nakama_py.realtime.session import SocketSession
from nakama_py.runtime.context import RPC, Context
from nakama_py.runtime.service import LoadedRuntime


class RpcHandler:
    def __init__(self, runtime: Callable[[], LoadedRuntime]) -> None:
        self._runtime = runtime  # the runtime loaded now (modules load after the pipeline is built)

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
        try:
            result = await runtime.call_rpc(entry, ctx, request.payload)
        except NakamaError as exc:
            raise RealtimeError(ErrorCode.RUNTIME_FUNCTION_EXCEPTION, exc.message) from None
        reply = Envelope()
        reply.rpc.id = request.id
        reply.rpc.payload = result if isinstance(result, str) else result.decode("utf-8", "replace")
        return reply
