"""The RPCs nakama-js's own test suite calls (tests/nakamajs), as Nakama's test module
``data/modules/clientrpc.lua`` provides them to the real server. Load with ``--runtime.path tests/modules``.

``TestMatch`` is Nakama's ``match.lua``, the authoritative match handler ``"match"`` that
``create_authoritative_match`` starts: tick rate 1, label from the params or ``"skill=100-150"``,
admits every join, ends after tick 10. ``matchmaker_matched`` is Nakama's ``match_init.lua``: for
exactly two users whose ``mode`` property is ``"authoritative"``, it creates a ``"match"`` for them.
"""

from __future__ import annotations

from typing import Any

from nakama_py.runtime import (
    Code,
    Context,
    Dispatcher,
    Initializer,
    MatchmakerEntry,
    MatchMessage,
    MatchPresence,
    NakamaError,
    NakamaModule,
    RuntimeLogger,
)

# The stream send_stream_data joins its caller to: mode 20 is Nakama's first custom stream mode.
STREAM_DATA_TEST = {"mode": 20, "label": "Stream Data Test"}


def _decoded(nk: NakamaModule, payload: str) -> dict[str, Any]:
    value = nk.json_decode(payload) if payload else None
    return value if isinstance(value, dict) else {}


async def rpc(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    """Echoes the payload after emitting an event, as the Lua module does."""
    nk.event("foo", {"bar": "baz"}, 12345, False)
    return payload


async def rpc_error(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    raise NakamaError("Some error occured.", Code.INTERNAL)


async def rpc_get(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    return nk.json_encode({"message": "PONG"})


async def send_notification(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> None:
    """A persistent notification from the caller to the ``user_id`` in the payload."""
    await nk.notifications_send([{
        "user_id": _decoded(nk, payload).get("user_id"),
        "subject": "You've unlocked level 100!",
        "content": {"reward_coins": 1000},
        "code": 1,
        "sender_id": ctx.user_id,
        "persistent": True,
    }])


async def send_stream_data(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> None:
    """Joins the caller's socket to a stream, then sends the payload to that stream."""
    if ctx.user_id is None or ctx.session_id is None:
        raise NakamaError("call this RPC over the socket", Code.INVALID_ARGUMENT)
    await nk.stream_user_join(ctx.user_id, ctx.session_id, STREAM_DATA_TEST, False, False)
    await nk.stream_send(STREAM_DATA_TEST, payload)


async def create_authoritative_match(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    """Starts a ``"match"`` with the payload's ``label`` (if any); answers ``{"match_id": ...}``."""
    # The Lua module's `decoded.debug or true` is always true.
    params = {"debug": True, "label": _decoded(nk, payload).get("label")}
    match_id = await nk.match_create("match", params)
    return nk.json_encode({"match_id": match_id})


async def print_env(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    env = dict(ctx.env)
    logger.info("env", env=env)
    return nk.json_encode({"message": env})


async def create_leaderboard(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    """A new descending leaderboard with the payload's ``operator``; a bad operator is logged, and the
    id is answered all the same (as the Lua module does)."""
    leaderboard_id = nk.uuid_v4()
    try:
        await nk.leaderboard_create(leaderboard_id, False, "desc", _decoded(nk, payload).get("operator", "best"))
    except NakamaError as error:
        logger.error(error.message)
    return nk.json_encode({"leaderboard_id": leaderboard_id})


class TestMatch:
    """Nakama's test match (data/modules/match.lua)."""

    def match_init(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule,
                   params: dict[str, Any]) -> tuple[dict[str, Any], int, str]:
        return {"debug": bool(params.get("debug"))}, 1, params.get("label") or "skill=100-150"

    def match_join_attempt(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                           tick: int, state: dict[str, Any], presence: MatchPresence,
                           metadata: dict[str, str]) -> tuple[dict[str, Any], bool]:
        if state["debug"]:
            logger.info("match join attempt", presence=presence.user_id, metadata=metadata)
        return state, True

    def match_join(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                   state: dict[str, Any], presences: list[MatchPresence]) -> dict[str, Any]:
        return state

    def match_leave(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                    state: dict[str, Any], presences: list[MatchPresence]) -> dict[str, Any]:
        return state

    def match_loop(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                   state: dict[str, Any], messages: list[MatchMessage]) -> dict[str, Any] | None:
        return None if tick >= 10 else state

    def match_terminate(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher,
                        tick: int, state: dict[str, Any], grace_seconds: int) -> dict[str, Any] | None:
        return None

    def match_signal(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, dispatcher: Dispatcher, tick: int,
                     state: dict[str, Any], data: str) -> tuple[dict[str, Any], str]:
        return state, data


async def matchmaker_matched(ctx: Context, logger: RuntimeLogger, nk: NakamaModule,
                             entries: list[MatchmakerEntry]) -> str | None:
    if len(entries) != 2 or any(entry.properties.get("mode") != "authoritative" for entry in entries):
        return None
    return await nk.match_create("match", {"debug": True})


def init_module(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, initializer: Initializer) -> None:
    for name, fn in [("rpc", rpc), ("rpc_error", rpc_error), ("rpc_get", rpc_get),
                     ("send_notification", send_notification), ("send_stream_data", send_stream_data),
                     ("create_authoritative_match", create_authoritative_match), ("print_env", print_env),
                     ("create_leaderboard", create_leaderboard)]:
        initializer.register_rpc(f"clientrpc.{name}", fn)
    initializer.register_match("match", TestMatch)
    initializer.register_matchmaker_matched(matchmaker_matched)
