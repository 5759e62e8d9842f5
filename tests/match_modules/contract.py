"""Match handlers that make every callback observable to the tests of the Python match contract
(tests/test_match_contract.py): each callback broadcasts what it saw, and message op codes ask
the loop to misbehave in the ways a module can."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nakama_py.runtime import (
    Context,
    Dispatcher,
    Initializer,
    MatchContext,
    MatchMessage,
    MatchPresence,
    NakamaError,
    NakamaModule,
    RuntimeLogger,
)

# Broadcast op codes (what the players see).
JOINED, LEFT, ECHO, TICK, TERMINATING = 1, 2, 3, 4, 5
# Message op codes (what players ask of the loop).
END, RAISE, RELABEL, KICK_ME, BLOCK, STALL = 99, 98, 97, 96, 95, 94

State = dict[str, Any]


class Contract:
    """Params: ``label``, ``rate`` (tick rate), ``ticks`` (broadcast every tick number),
    ``linger`` (match_terminate keeps the match running: it never ends by itself)."""

    async def match_init(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule,
                         params: dict[str, Any]) -> tuple[State, int, str]:
        state = {"ticks": bool(params.get("ticks")), "linger": bool(params.get("linger")), "signals": 0}
        return state, int(params.get("rate", 10)), str(params.get("label", ""))

    async def match_join_attempt(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                                 tick: int, state: State, presence: MatchPresence,
                                 metadata: dict[str, str]) -> tuple[State, bool, str]:
        if metadata.get("password") != "open sesame":
            return state, False, "wrong password"
        return state, True, ""

    async def match_join(self, ctx: MatchContext, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                         tick: int, state: State, presences: list[MatchPresence]) -> State:
        for presence in presences:
            dispatcher.broadcast_message(JOINED, f"{presence.user_id} {ctx.match_id} {ctx.match_label}")
        return state

    async def match_leave(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                          tick: int, state: State, presences: list[MatchPresence]) -> State:
        for presence in presences:
            dispatcher.broadcast_message(LEFT, presence.user_id)
        return state

    async def match_loop(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                         tick: int, state: State, messages: list[MatchMessage]) -> State | None:
        if state["ticks"]:
            dispatcher.broadcast_message(TICK, str(tick))
        for message in messages:
            sender = MatchPresence(message.user_id, message.session_id, message.username, message.node)
            if message.op_code == END:
                return None
            if message.op_code == RAISE:
                raise NakamaError("the handler failed on purpose")
            if message.op_code == RELABEL:
                dispatcher.match_label_update(message.data.decode())
            elif message.op_code == KICK_ME:
                dispatcher.match_kick([sender])
            elif message.op_code == BLOCK:
                time.sleep(float(message.data.decode()))  # noqa: ASYNC251  # the module's bug: blocks the loop
            elif message.op_code == STALL:
                await asyncio.sleep(float(message.data.decode()))  # overruns its own ticks only
            else:
                dispatcher.broadcast_message(ECHO, message.data, [sender], sender)
        return state

    async def match_terminate(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                              tick: int, state: State, grace_seconds: int) -> State | None:
        dispatcher.broadcast_message(TERMINATING, str(grace_seconds))
        return state if state["linger"] else None

    async def match_signal(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                           tick: int, state: State, data: str) -> tuple[State | None, str]:
        if data == "end":
            return None, ""
        state["signals"] += 1
        return state, f"{data} tick={tick} signals={state['signals']}"


class SyncCounter:
    """The same contract with plain ``def`` callbacks: counts ticks, answers signals with the count."""

    def match_init(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule,
                   params: dict[str, Any]) -> tuple[State, int, str]:
        return {"n": 0}, int(params.get("rate", 10)), "sync"

    def match_join_attempt(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                           tick: int, state: State, presence: MatchPresence,
                           metadata: dict[str, str]) -> tuple[State, bool]:
        return state, True

    def match_join(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                   state: State, presences: list[MatchPresence]) -> State:
        return state

    def match_leave(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                    state: State, presences: list[MatchPresence]) -> State:
        return state

    def match_loop(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                   state: State, messages: list[MatchMessage]) -> State:
        state["n"] += 1
        return state

    def match_terminate(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                        tick: int, state: State, grace_seconds: int) -> State | None:
        return None

    def match_signal(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                     state: State, data: str) -> tuple[State, str]:
        return state, str(state["n"])


async def create(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    """RPC: a match of the handler and params in the payload (``{"handler", "params"}``)."""
    request = nk.json_decode(payload)
    return await nk.match_create(request["handler"], request.get("params") or {})


async def signal(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    """RPC: ``nk.match_signal`` to the match in the payload (``{"match_id", "data"}``), on whichever process."""
    request = nk.json_decode(payload)
    return await nk.match_signal(request["match_id"], request["data"])


def init_module(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, initializer: Initializer) -> None:
    initializer.register_match("contract", Contract)
    initializer.register_match("sync_counter", SyncCounter())
    initializer.register_rpc("match_create", create)
    initializer.register_rpc("match_signal", signal)
