"""Calls to a match hosted by another process, over the bus: join attempts, data and signals.

Each process listens on its own topic ``nakama.match.<process>``. A join attempt or a signal
carries a request id and the caller's process; the host answers on the caller's topic. A caller
waits at most ``CALL_TIMEOUT_SEC`` (Nakama's 10 s): a join then counts as rejected, a signal as
"match busy". Data is fire-and-forget, as a client's ``match_data_send`` has no answer.

Frames: a JSON header, a newline, then the raw data bytes (match data only).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from nakama_py.cluster.bus import BusUnavailable, ClusterBus
from nakama_py.core.matches.ids import MatchId
from nakama_py.core.matches.types import CALL_TIMEOUT_SEC, JoinResult, MatchMessage
from nakama_py.core.presence import Presence, PresenceMeta, Stream
from nakama_py.errors import MatchBusy, MatchNotFound

log = logging.getLogger("nakama_py.matches")

TOPIC_PREFIX = "nakama.match."


class LocalMatches(Protocol):
    """What the host side answers with (the registry's own matches, by match uuid)."""

    async def join_attempt_local(self, match_uuid: str, presence: Presence,
                                 metadata: Mapping[str, str]) -> JoinResult: ...

    def send_data_local(self, match_uuid: str, message: MatchMessage) -> None: ...

    async def signal_local(self, match_uuid: str, data: str) -> str: ...


def encode_presence(presence: Presence) -> list[str]:
    return [presence.user_id, presence.session_id, presence.meta.username, presence.process]


def decode_presence(stream: Stream, item: list[str]) -> Presence:
    user_id, session_id, username, process = item
    return Presence(stream, user_id, session_id, process, PresenceMeta(username))


class MatchCalls:
    def __init__(self, bus: ClusterBus, local: LocalMatches) -> None:
        self._bus = bus
        self._local = local
        self.process = bus.process
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        bus.subscribe(TOPIC_PREFIX + self.process, self._on_message, echo=False)

    def _alive(self, process: str) -> bool:
        return any(info.process == process for info in self._bus.alive())

    async def _call(self, process: str, body: dict[str, Any]) -> dict[str, Any]:
        if not self._alive(process):
            raise MatchNotFound()
        request = next(self._ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request] = answer
        body.update(id=request, r=self.process)
        try:
            await self._bus.publish(TOPIC_PREFIX + process, orjson.dumps(body) + b"\n")
            return await asyncio.wait_for(answer, CALL_TIMEOUT_SEC)
        except (TimeoutError, BusUnavailable):
            raise MatchBusy() from None
        finally:
            self._waiting.pop(request, None)

    async def join_attempt(self, process: str, match_uuid: str, presence: Presence,
                           metadata: Mapping[str, str]) -> JoinResult:
        try:
            reply = await self._call(process, {"k": "join", "m": match_uuid, "pr": encode_presence(presence),
                                               "md": dict(metadata)})
        except MatchBusy:
            return JoinResult(True, False)  # no answer in time: rejected, as Nakama's timeout
        if not reply.get("found"):
            return JoinResult(False)
        return JoinResult(True, reply["allow"], reply["reason"], reply["label"],
                          tuple(decode_presence(presence.stream, p) for p in reply["ps"]), reply["new"])

    async def send_data(self, process: str, match_uuid: str, message: MatchMessage) -> None:
        header = {"k": "data", "m": match_uuid, "u": message.user_id, "s": message.session_id,
                  "n": message.username, "o": message.node, "op": message.op_code, "rel": message.reliable,
                  "t": message.receive_time_ms}
        await self._bus.publish(TOPIC_PREFIX + process, orjson.dumps(header) + b"\n" + message.data)

    async def signal(self, process: str, match_uuid: str, data: str) -> str:
        reply = await self._call(process, {"k": "signal", "m": match_uuid, "data": data})
        error = reply.get("error")
        if error == "not_found":
            raise MatchNotFound()
        if error:
            raise MatchBusy()
        return str(reply["result"])

    # --- the host side ---------------------------------------------------------------------

    def _on_message(self, payload: bytes) -> None:
        header_bytes, _, data = payload.partition(b"\n")
        try:
            header = orjson.loads(header_bytes)
            kind = header["k"]
        except Exception:
            log.warning("undecodable match call dropped")
            return
        if kind == "reply":
            answer = self._waiting.get(header["id"])
            if answer is not None and not answer.done():
                answer.set_result(header)
        elif kind == "data":
            self._local.send_data_local(header["m"], MatchMessage(header["u"], header["s"], header["n"], header["o"],
                                                            header["op"], data, header["rel"], header["t"]))
        else:
            task = asyncio.get_running_loop().create_task(self._answer(header))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, header: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"k": "reply", "id": header["id"]}
        match_uuid = header["m"]
        try:
            if header["k"] == "join":
                stream = MatchId(match_uuid, self.process).stream
                result = await self._local.join_attempt_local(match_uuid, decode_presence(stream, header["pr"]),
                                                        header["md"])
                reply.update(found=result.found, allow=result.allow, reason=result.reason, label=result.label,
                             ps=[encode_presence(p) for p in result.presences], new=result.is_new)
            elif header["k"] == "signal":
                reply["result"] = await self._local.signal_local(match_uuid, header["data"])
        except MatchNotFound:
            reply["error"] = "not_found"
        except MatchBusy:
            reply["error"] = "busy"
        except Exception:
            log.exception("match call failed")
            reply["error"] = "busy"
        try:
            await self._bus.publish(TOPIC_PREFIX + header["r"], orjson.dumps(reply))
        except BusUnavailable:
            log.warning("match call answer not sent: the bus is down")
