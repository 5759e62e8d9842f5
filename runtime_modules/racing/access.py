"""Who may call which RPC: players with a session, or backends with the http_key."""

from __future__ import annotations

from nakama_py.runtime import Code, Context, NakamaError

BOARD = "race_times"
COLLECTION = "race_data"


def require_player(ctx: Context, rpc: str) -> str:
    """The caller's user id; http_key calls carry no user and are refused."""
    if not ctx.user_id:
        raise NakamaError(f"{rpc} needs a player session token; http_key calls are refused", Code.UNAUTHENTICATED)
    return ctx.user_id


def require_backend(ctx: Context, rpc: str) -> None:
    """Only the http_key (server to server) may call; a player session is refused."""
    if ctx.user_id:
        raise NakamaError(f"{rpc} is for server-to-server calls with the http_key", Code.PERMISSION_DENIED)
