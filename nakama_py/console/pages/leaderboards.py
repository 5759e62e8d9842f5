"""Leaderboards: every board, a bucket's records page by page with ranks, and deleting a record."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from nakama_py.console.audit import audit
from nakama_py.console.context import back, console_of, may, render
from nakama_py.core.console_users import Permission
from nakama_py.errors import invalid_argument

routes = web.RouteTableDef()
BOARDS_PER_PAGE = 100
RECORDS_PER_PAGE = 50


def _expiry(request: web.Request) -> int:
    text = request.query.get("expiry", "0") or "0"
    if not text.isdigit():
        raise invalid_argument("expiry must be unix seconds.")
    return int(text)


@routes.get("/leaderboards")
async def boards(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    found, next_cursor = await console_of(request).state.leaderboards.list_boards(
        BOARDS_PER_PAGE, request.query.get("cursor") or None)
    return render(request, "leaderboards.html", boards=found, next_cursor=next_cursor)


@routes.get("/leaderboards/{board_id}")
async def records(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    leaderboards = console_of(request).state.leaderboards
    board = await leaderboards.board(request.match_info["board_id"])
    expiry = _expiry(request)
    page = await leaderboards.list_records(board.id, limit=RECORDS_PER_PAGE, expiry=expiry,
                                           cursor=request.query.get("cursor") or None)
    return render(request, "leaderboard.html", board=board, page=page, expiry=expiry,
                  next_reset=board.next_reset(), quote=quote)


@routes.post("/leaderboards/{board_id}/records/{owner_id}/delete")
async def delete_record(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.EDIT_DATA)
    board_id, owner_id = request.match_info["board_id"], request.match_info["owner_id"]
    await console_of(request).state.leaderboards.delete_record(board_id, owner_id)
    audit(operator.username, "deleted a leaderboard record", leaderboard_id=board_id, owner_id=owner_id)
    raise back(f"/leaderboards/{quote(board_id, safe='')}", msg="Record deleted.")
