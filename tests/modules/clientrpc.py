"""The RPCs nakama-js's own test suite calls (tests/nakamajs), as Nakama's test module
``data/modules/clientrpc.lua`` provides them to the real server. Load with ``--runtime.path tests/modules``.

Some RPCs call ``nk`` functions of features still being built (events, streams, matches); they call
them by their Nakama names and fail at call time until those land (the ``type: ignore`` comments
then become unused, and mypy says so). Still missing from this directory for the matches issue:
the authoritative match handler ``"match"`` that ``create_authoritative_match`` starts (Nakama's
``match.lua``: tick rate 1, label from the params or ``"skill=100-150"``, admits every join, ends
after tick 10) and the matchmaker-matched hook (Nakama's ``match_init.lua``: for exactly two users
whose ``mode`` property is ``"authoritative"``, create a ``"match"`` and return its id).
"""

from __future__ import annotations

from typing import Any

from nakama_py.runtime import Code, Context, Initializer, NakamaError, NakamaModule, RuntimeLogger

# The stream send_stream_data joins its caller to: mode 20 is Nakama's first custom stream mode.
STREAM_DATA_TEST = {"mode": 20, "label": "Stream Data Test"}


def _decoded(nk: NakamaModule, payload: str) -> dict[str, Any]:
    value = nk.json_decode(payload) if payload else None
    return value if isinstance(value, dict) else {}


async def rpc(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    """Echoes the payload after emitting an event, as the Lua module does."""
    nk.event("foo", {"bar": "baz"}, 12345, False)  # type: ignore[attr-defined]
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
    session_id = ctx.session_id  # type: ignore[attr-defined]
    await nk.stream_user_join(ctx.user_id, session_id, STREAM_DATA_TEST, False, False)  # type: ignore[attr-defined]
    await nk.stream_send(STREAM_DATA_TEST, payload)  # type: ignore[attr-defined]


async def create_authoritative_match(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    """Starts a ``"match"`` with the payload's ``label`` (if any); answers ``{"match_id": ...}``."""
    # The Lua module's `decoded.debug or true` is always true.
    params = {"debug": True, "label": _decoded(nk, payload).get("label")}
    match_id = await nk.match_create("match", params)  # type: ignore[attr-defined]
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


def init_module(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, initializer: Initializer) -> None:
    for name, fn in [("rpc", rpc), ("rpc_error", rpc_error), ("rpc_get", rpc_get),
                     ("send_notification", send_notification), ("send_stream_data", send_stream_data),
                     ("create_authoritative_match", create_authoritative_match), ("print_env", print_env),
                     ("create_leaderboard", create_leaderboard)]:
        initializer.register_rpc(f"clientrpc.{name}", fn)
