"""Racing: the current cycle and its standings, finalization history, and the audit trail of a cycle's payouts.

The console reads what the racing module (runtime_modules/racing) keeps through the same core services
any other page uses: its leaderboard, its system-owned snapshots and each player's reward receipt.
The names below are the module's (racing/access.py, racing/finalization.py)."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from nakama_py.console.context import console_of, may, render
from nakama_py.core.console_users import Permission
from nakama_py.core.storage import SYSTEM_USER_ID
from nakama_py.errors import NakamaError, not_found
from nakama_py.state import ServerState

routes = web.RouteTableDef()
BOARD = "race_times"
COLLECTION = "race_data"
SNAPSHOT_PREFIX = "snapshot_"
LAST_RESET_KEY = "last_reset"
SUBMISSIONS_ACCEPTED = "racing_submissions_accepted"  # the module's counters (racing/telemetry.py)
SUBMISSIONS_REJECTED = "racing_submissions_rejected"
STANDINGS = 10
HISTORY_PAGE = 100
CHART_CYCLES = 30  # bars in the chart, 12 units apart


def submission_counts(state: ServerState) -> dict[str, int]:
    """Accepted and rejected (by reason) submissions this process has answered since it started."""
    counts = {"accepted": int(state.metrics.custom_counts(SUBMISSIONS_ACCEPTED).get("", 0))}
    for labels, value in sorted(state.metrics.custom_counts(SUBMISSIONS_REJECTED).items()):
        counts["rejected: " + labels.removeprefix("reason=")] = int(value)
    return counts


def cycle_bars(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records per finalized cycle, oldest first, scaled to the tallest (for the page's bar chart)."""
    recent = list(reversed(history[:CHART_CYCLES]))
    tallest = max((int(s.get("records", 0)) for s in recent), default=0) or 1
    first_slot = CHART_CYCLES - len(recent)  # the newest cycle always at the right edge
    return [{"cycle": s.get("cycle"), "records": int(s.get("records", 0)), "x": (first_slot + i) * 12 + 1,
             "height": round(100 * int(s.get("records", 0)) / tallest, 1)} for i, s in enumerate(recent)]


async def _system_objects(state: ServerState) -> dict[str, dict[str, Any]]:
    """The module's system-owned objects by key (snapshots, the last reset)."""
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        objects, cursor = await state.storage.list_objects(COLLECTION, user_id=SYSTEM_USER_ID, limit=HISTORY_PAGE,
                                                   cursor=cursor)
        found.update((obj.key, json.loads(obj.value)) for obj in objects)
        if not cursor:
            return found


@routes.get("/racing")
async def racing_page(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    state = console_of(request).state
    try:
        board = await state.leaderboards.board(BOARD)
    except NakamaError:
        return render(request, "racing.html", loaded=False)
    expiry = board.next_reset(time.time())
    length = board.next_reset(expiry) - expiry if expiry else 0
    cycle = expiry // length - 1 if length else 0
    objects = await _system_objects(state)
    history = sorted((value for key, value in objects.items() if key.startswith(SNAPSHOT_PREFIX)),
                     key=lambda snapshot: -int(snapshot.get("cycle", 0)))
    return render(request, "racing.html", loaded=True, cycle=cycle, cycle_seconds=length, ends_at=expiry,
                  standings=(await state.leaderboards.read_top(BOARD, STANDINGS, expiry)).entries,
                  submissions=await state.leaderboards.count_receipts(BOARD, expiry=expiry),
                  history=history, last_reset=objects.get(LAST_RESET_KEY), bars=cycle_bars(history),
                  counts=submission_counts(state), workers=state.config.workers, chart_width=CHART_CYCLES * 12)


@routes.get("/racing/cycles/{cycle}")
async def payouts(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    state = console_of(request).state
    cycle = request.match_info["cycle"]
    if not cycle.isdigit():
        raise not_found("No such cycle.")
    objects = await _system_objects(state)
    snapshot = objects.get(f"{SNAPSHOT_PREFIX}{cycle}")
    if snapshot is None:
        raise not_found(f"Cycle {cycle} has not been finalized (or is no longer kept).")
    receipts = {obj.user_id: json.loads(obj.value)
                for obj in await state.storage.objects_with_key(COLLECTION, f"reward_{cycle}")}
    rows = [{**entry, "receipt": receipts.get(entry["user_id"])} for entry in snapshot.get("entries", [])]
    return render(request, "racing_cycle.html", cycle=int(cycle), snapshot=snapshot, rows=rows,
                  paid=len(receipts), coins=sum(int(r.get("coins", 0)) for r in receipts.values()))
