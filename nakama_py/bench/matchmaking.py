"""``socket-matchmaker``: how long the matchmaker takes to form ``--groups`` 2-player groups.

2 x groups signed-in users connect (spread over ``--url`` and ``--extra-url``), then every socket
adds one ticket (min = max = 2) whose query only accepts this run's tickets; the clock runs from
the first ``matchmaker_add`` sent to the last ``matchmaker_matched`` received. The matchmaker forms
groups once per ``matchmaker.interval_sec``, so the wait for the next interval is part of the
figure: ``matched_spread_s`` (first to last matched message) is the work of the interval itself.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import aiohttp

from nakama_py.bench.options import Options
from nakama_py.bench.sockets import SocketReport, _connect, _users

MATCH_WAIT_S = 120.0  # past the last ticket: beyond any sane interval


async def socket_matchmaker(options: Options, log: Any) -> SocketReport:
    players = 2 * options.groups
    run = secrets.token_hex(6)
    log(f"signing in {players} users")
    users = await _users(options, players)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:  # a socket holds a connection
        log(f"connecting {players} sockets")
        sockets = await _connect(http, options.urls, users)
        await asyncio.sleep(1.0)  # every process sees every socket before matched messages are routed
        matched_at: list[float] = []
        added_at: list[float] = []
        tokens: dict[str, int] = {}
        errors: list[str] = []
        all_matched = asyncio.Event()

        async def player(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for message in ws:
                data = json.loads(message.data)
                if "matchmaker_ticket" in data:
                    added_at.append(time.monotonic())
                elif "matchmaker_matched" in data:
                    matched_at.append(time.monotonic())
                    got = data["matchmaker_matched"]
                    key = got.get("token") or got.get("match_id", "")
                    tokens[key] = tokens.get(key, 0) + 1
                    if len(matched_at) == players:
                        all_matched.set()
                    return
                elif "error" in data:
                    errors.append(str(data["error"]))

        readers = [asyncio.create_task(player(ws)) for ws in sockets]
        add = json.dumps({"cid": "add", "matchmaker_add": {
            "query": f"+properties.bench_run:{run}", "min_count": 2, "max_count": 2,
            "string_properties": {"bench_run": run}}})
        log(f"adding {players} tickets")
        started = time.monotonic()
        await asyncio.gather(*(ws.send_str(add) for ws in sockets))
        try:
            await asyncio.wait_for(all_matched.wait(), MATCH_WAIT_S)
        except TimeoutError:
            log(f"only {len(matched_at)} of {players} players matched within {MATCH_WAIT_S:g}s")
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    pairs = sum(1 for count in tokens.values() if count == 2)
    figures: dict[str, Any] = {
        "groups_asked": options.groups, "nodes": len(options.urls), "players": players,
        "players_matched": len(matched_at), "groups_of_two": pairs, "add_errors": len(errors),
        "tickets_acknowledged_s": round(max(added_at) - started, 3) if added_at else None,
        "first_to_all_matched_s": round(max(matched_at) - started, 3) if matched_at else None,
        "matched_spread_s": round(max(matched_at) - min(matched_at), 3) if matched_at else None,
    }
    if errors:
        figures["first_error"] = errors[0]
    return SocketReport("socket-matchmaker", figures, options.label)
