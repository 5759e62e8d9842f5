"""The match handler ``nakama-py bench --scenario socket-matches`` drives (bench only: its RPC takes
the http_key, never a player's session).

``bench_match`` is a small game loop: players send inputs at the tick rate; each tick the loop
folds the inputs received since the last one into the state and broadcasts it to every player
(one message to the whole match). Each broadcast carries how late that tick started, as the
server's match loop measured it (``ctx.match_tick_lateness``).

    curl -s "127.0.0.1:7350/v2/rpc/bench_matches_create?http_key=defaulthttpkey&unwrap" -d '{"count": 10}'
"""

from __future__ import annotations

import json
from typing import Any

from nakama_py.runtime import (
    Code,
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

MAX_MATCHES_PER_CALL = 1000
State = dict[str, Any]


class BenchMatch:
    def match_init(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule,
                   params: dict[str, Any]) -> tuple[State, int, str]:
        rate = int(params.get("rate", 10))
        return {"players": {}, "inputs": 0}, rate, '{"bench": true}'

    def match_join_attempt(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                           tick: int, state: State, presence: MatchPresence,
                           metadata: dict[str, str]) -> tuple[State, bool]:
        return state, True

    def match_join(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                   state: State, presences: list[MatchPresence]) -> State:
        for presence in presences:
            state["players"][presence.session_id] = 0.0
        return state

    def match_leave(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                    state: State, presences: list[MatchPresence]) -> State | None:
        for presence in presences:
            state["players"].pop(presence.session_id, None)
        return state if state["players"] else None  # the bench is over for this match

    def match_loop(self, ctx: MatchContext, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                   state: State, messages: list[MatchMessage]) -> State:
        late = ctx.match_tick_lateness
        players = state["players"]
        for message in messages:
            if message.session_id in players:
                players[message.session_id] += 1.0
        state["inputs"] += len(messages)
        if players:
            dispatcher.broadcast_message(1, json.dumps({"tick": tick, "late_ms": round(late * 1000, 3),
                                                        "inputs": state["inputs"]}))
        return state

    def match_terminate(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                        tick: int, state: State, grace_seconds: int) -> State | None:
        return None

    def match_signal(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                     state: State, data: str) -> tuple[State, str]:
        return state, str(state["inputs"])


async def bench_matches_create(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    """``{"count": N, "rate": 10}`` with the http_key: N bench matches on this process; their ids."""
    if ctx.user_id is not None:
        raise NakamaError("bench_matches_create takes the http_key", Code.PERMISSION_DENIED)
    request = nk.json_decode(payload or "{}")
    count, rate = int(request.get("count", 1)), int(request.get("rate", 10))
    if not 1 <= count <= MAX_MATCHES_PER_CALL:
        raise NakamaError(f"count must be 1-{MAX_MATCHES_PER_CALL}", Code.INVALID_ARGUMENT)
    ids = [await nk.match_create("bench_match", {"rate": rate}) for _ in range(count)]
    return nk.json_encode({"match_ids": ids})


def init_module(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, initializer: Initializer) -> None:
    initializer.register_match("bench_match", BenchMatch)
    initializer.register_rpc("bench_matches_create", bench_matches_create)
