"""``socket-matches``: authoritative matches of one server process at a tick rate, ``--players`` each.

The server runs ``runtime_modules/bench_matches.py``. The bench creates ``--matches`` matches
(its RPC, with the http key), connects ``--matches x --players`` sockets (spread over ``--url``
and ``--extra-url``), joins each to its match, and every player sends one input per tick. Each
tick the match broadcasts its state to its players, with how late that tick started. Over the
timed window: inputs sent, broadcasts received against those expected, the ticks' lateness
(p50/p99/max, as the server measured it), and with ``--server-pid`` the server's CPU time per
match (CPU seconds per second of the process and its workers, over the matches) and the share of the
window its threads spent waiting for a CPU (a loaded machine shows there, and makes ticks late).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import time
from typing import Any

import aiohttp

from nakama_py.bench.options import Options
from nakama_py.bench.process_tree import process_tree
from nakama_py.bench.sockets import SocketReport, _connect, _users

INPUT_OP = 1
JOIN_WAIT_S = 30.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (worker processes)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for one in process_tree(pid):
        try:
            with open(f"/proc/{one}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def _runqueue_wait_seconds(pid: int) -> float:
    """Time the process's threads spent runnable but waiting for a CPU (/proc schedstat): when it is a
    large part of the window, the machine, not the server, made the ticks late."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as handle:
                total += int(handle.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _create_matches(http: aiohttp.ClientSession, options: Options, count: int, rate: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        batch = min(500, count - len(ids))
        async with http.post(f"{options.url}/v2/rpc/bench_matches_create",
                             params={"http_key": options.http_key, "unwrap": ""},
                             json={"count": batch, "rate": rate}) as response:
            if response.status != 200:
                raise RuntimeError(f"bench_matches_create answered {response.status}: {await response.text()} "
                                   "(run the server with runtime_modules/bench_matches.py loaded)")
            ids += (await response.json())["match_ids"]
    return ids


async def socket_matches(options: Options, log: Any) -> SocketReport:
    matches, players, rate = options.matches, options.players, options.tick_rate
    total = matches * players
    log(f"signing in {total} users")
    users = await _users(options, total)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        log(f"creating {matches} matches at {rate} ticks/s")
        match_ids = await _create_matches(http, options, matches, rate)
        log(f"connecting {total} sockets")
        sockets = await _connect(http, options.urls, users)
        for index, ws in enumerate(sockets):
            await ws.send_str(json.dumps({"cid": "j", "match_join": {"match_id": match_ids[index // players]}}))
        timing = {"window": False}
        received = [0]
        lateness_ms: list[float] = []
        joined = [0]
        all_joined = asyncio.Event()
        errors: list[str] = []

        async def reader(index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            reporter = index % players == 0  # one player per match records its ticks' lateness
            async for message in ws:
                data = json.loads(message.data)
                if "match_data" in data:
                    if timing["window"]:
                        received[0] += 1
                        if reporter:
                            body = json.loads(base64.b64decode(data["match_data"]["data"]))
                            lateness_ms.append(float(body["late_ms"]))
                elif "match" in data:
                    joined[0] += 1
                    if joined[0] == total:
                        all_joined.set()
                elif "error" in data:
                    errors.append(str(data["error"]))
                    all_joined.set()  # no point waiting: reported

        readers = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_joined.wait(), JOIN_WAIT_S)
        log(f"{joined[0]} of {total} players joined; sending inputs at {rate}/s each")
        stop = asyncio.Event()
        sent = [0]
        payload = json.dumps({"d": secrets.token_hex(8)})

        async def sender(index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            frame = json.dumps({"match_data_send": {"match_id": match_ids[index // players], "op_code": INPUT_OP,
                                                    "data": base64.b64encode(payload.encode()).decode()}})
            await asyncio.sleep((index % 100) / 100 / rate)  # spread over the tick
            while not stop.is_set():
                await ws.send_str(frame)
                if timing["window"]:
                    sent[0] += 1
                await asyncio.sleep(1 / rate)

        senders = [asyncio.create_task(sender(i, ws)) for i, ws in enumerate(sockets)]
        await asyncio.sleep(options.warmup_s)
        cpu_before = _cpu_seconds(options.server_pid) if options.server_pid else 0.0
        wait_before = _runqueue_wait_seconds(options.server_pid) if options.server_pid else 0.0
        timing["window"] = True
        started = time.monotonic()
        await asyncio.sleep(options.duration_s)
        timing["window"] = False
        window = time.monotonic() - started
        cpu_after = _cpu_seconds(options.server_pid) if options.server_pid else 0.0
        wait_after = _runqueue_wait_seconds(options.server_pid) if options.server_pid else 0.0
        stop.set()
        for task in senders + readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    expected = matches * players * rate * window
    figures: dict[str, Any] = {
        "matches": matches, "players_per_match": players, "tick_rate": rate, "nodes": len(options.urls),
        "players_joined": joined[0], "window_s": round(window, 2),
        "inputs_sent_per_s": round(sent[0] / window, 1),
        "broadcasts_received_per_s": round(received[0] / window, 1),
        "broadcasts_expected_per_s": round(expected / window, 1),
        "ticks_measured": len(lateness_ms),
        "tick_lateness_p50_ms": _percentile(lateness_ms, 0.50),
        "tick_lateness_p99_ms": _percentile(lateness_ms, 0.99),
        "tick_lateness_max_ms": max(lateness_ms) if lateness_ms else None,
        "join_errors": len(errors),
    }
    if options.server_pid:
        cpu = (cpu_after - cpu_before) / window
        figures.update(server_cpu_percent=round(cpu * 100, 1),
                       server_cpu_ms_per_match_per_s=round(cpu * 1000 / matches, 3),
                       server_runqueue_wait_percent=round((wait_after - wait_before) / window * 100, 1))
    if errors:
        figures["first_error"] = errors[0]
    return SocketReport("socket-matches", figures, options.label)
