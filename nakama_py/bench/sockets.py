"""Realtime socket scenarios of ``nakama-py bench`` (a client of ``/ws`` only, JSON envelopes):

- ``socket-idle``: connect ``--users`` sockets and hold them for ``--duration``; with ``--server-pid``
  (a server on this machine) the resident memory of that process and its children before and after,
  per socket.
- ``socket-fanout``: ``--members`` sockets (spread round-robin over ``--url`` and ``--extra-url``, so
  over nodes) join one room; every member sends chat messages in turn at ``--rate`` messages/s in all;
  reports deliveries/s and the send-to-receive latency percentiles over every delivery.
- ``socket-rpc``: ``--connections`` sockets each call ``--rpc`` with ``--payload`` in a closed loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from nakama_py.bench.histogram import Histogram
from nakama_py.bench.options import Options
from nakama_py.bench.pool import HttpPool
from nakama_py.bench.process_tree import process_tree
from nakama_py.bench.target import Target
from nakama_py.bench.users import UserSession, custom_ids, sign_in

ROOM = "nakama-py-bench-fanout"
RATE_LIMITED = "Too many messages: slow down"  # nakama-py's per-socket limit answer


@dataclass
class SocketReport:
    scenario: str
    figures: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def table(self) -> str:
        lines = [f"{self.scenario}" + (f" ({self.label})" if self.label else "")]
        lines += [f"  {name:28} {value}" for name, value in self.figures.items()]
        return "\n".join(lines)

    def json_line(self) -> str:
        return json.dumps({"scenario": self.scenario, "label": self.label, **self.figures})


def _rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (worker processes), in KiB."""
    total = 0
    for one in process_tree(pid):
        try:
            with open(f"/proc/{one}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def _ws_url(url: str, token: str) -> str:
    base = url.rstrip("/").replace("http://", "ws://", 1)
    return f"{base}/ws?token={token}"


async def _users(options: Options, count: int) -> list[UserSession]:
    target = Target.from_url(options.url, options.server_key, options.http_key)
    async with HttpPool(target) as pool:
        return await sign_in(pool, custom_ids(options.user_prefix, count))


async def _connect(http: aiohttp.ClientSession, urls: list[str], users: list[UserSession],
                   concurrency: int = 64) -> list[aiohttp.ClientWebSocketResponse]:
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, user: UserSession) -> aiohttp.ClientWebSocketResponse:
        async with gate:
            return await http.ws_connect(_ws_url(urls[index % len(urls)], user.token), max_msg_size=0)

    return list(await asyncio.gather(*(one(i, u) for i, u in enumerate(users))))


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def socket_idle(options: Options, log: Any) -> SocketReport:
    log(f"signing in {options.users} users")
    users = await _users(options, options.users)
    before = _rss_kib(options.server_pid) if options.server_pid else 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:  # a socket holds a connection
        log(f"connecting {len(users)} sockets")
        started = time.monotonic()
        sockets = await _connect(http, options.urls, users)
        connect_s = time.monotonic() - started
        log(f"{len(sockets)} sockets connected in {connect_s:.1f}s; holding them")
        # A real client reads all the time (aiohttp answers the server's pings while reading).
        readers = [asyncio.create_task(_drain(ws)) for ws in sockets]
        await asyncio.sleep(options.duration_s)
        after = _rss_kib(options.server_pid) if options.server_pid else 0
        open_now = sum(not ws.closed for ws in sockets)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        for task in readers:
            task.cancel()
    figures: dict[str, Any] = {"sockets": len(sockets), "still_open_after_hold": open_now,
                               "connect_s": round(connect_s, 2), "held_s": options.duration_s}
    if options.server_pid:
        figures.update(server_rss_before_mib=round(before / 1024, 1), server_rss_after_mib=round(after / 1024, 1),
                       kib_per_idle_socket=round((after - before) / max(1, len(sockets)), 1))
    return SocketReport("socket-idle", figures, options.label)


async def socket_fanout(options: Options, log: Any) -> SocketReport:
    members = options.members
    users = await _users(options, members)
    latency = Histogram()
    delivered = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:  # a socket holds a connection
        sockets = await _connect(http, options.urls, users)
        channel = ""
        for index, ws in enumerate(sockets):
            await ws.send_str(json.dumps({"cid": "j", "channel_join": {"target": ROOM, "type": 1,
                                                                       "persistence": False}}))
            while True:
                reply = json.loads((await ws.receive(30)).data)
                if reply.get("cid") == "j":
                    channel = reply["channel"]["id"]
                    break
            if index % 25 == 0:
                log(f"{index + 1}/{members} members joined")
        await asyncio.sleep(1.0)  # presences reach every node
        measuring = False

        all_in = asyncio.Event()
        target = 0  # deliveries to wait for, once sending is over

        async def reader(ws: aiohttp.ClientWebSocketResponse) -> None:
            nonlocal delivered
            async for message in ws:
                data = json.loads(message.data)
                chat = data.get("channel_message")
                if chat is None or not measuring:
                    continue
                sent = json.loads(chat["content"]).get("t")
                if sent is not None:
                    latency.record(max(0, int((time.time() - sent) * 1_000_000)))
                    delivered += 1
                    if target and delivered >= target:
                        all_in.set()

        readers = [asyncio.create_task(reader(ws)) for ws in sockets]
        interval = 1.0 / options.rate_per_s
        sent = 0
        measuring = True
        started = time.monotonic()
        while time.monotonic() - started < options.duration_s:
            ws = sockets[sent % members]
            content = json.dumps({"t": time.time()})
            await ws.send_str(json.dumps({"channel_message_send": {"channel_id": channel, "content": content}}))
            sent += 1
            await asyncio.sleep(max(0.0, started + sent * interval - time.monotonic()))
        sending_s = time.monotonic() - started
        expected = sent * members
        if delivered < expected:
            target = expected
            with contextlib.suppress(TimeoutError):  # the last messages arrive
                await asyncio.wait_for(all_in.wait(), 10.0)
        elapsed = max(sending_s, time.monotonic() - started)
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return SocketReport("socket-fanout", {
        "members": members, "nodes": len(options.urls), "messages_sent": sent,
        "deliveries": delivered, "expected_deliveries": expected, "sent_per_s": round(sent / sending_s, 1),
        "deliveries_per_s": round(delivered / elapsed), "p50_ms": latency.percentile(50) / 1000,
        "p99_ms": latency.percentile(99) / 1000, "max_ms": latency.percentile(100) / 1000}, options.label)


async def socket_rpc(options: Options, log: Any) -> SocketReport:
    users = await _users(options, options.connections)
    latency = Histogram()
    calls = limited = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:  # a socket holds a connection
        sockets = await _connect(http, options.urls, users)
        deadline = time.monotonic() + options.warmup_s + options.duration_s
        measure_from = time.monotonic() + options.warmup_s

        async def loop(ws: aiohttp.ClientWebSocketResponse) -> None:
            nonlocal calls, limited
            cid = 0
            while time.monotonic() < deadline:
                cid += 1
                began = time.monotonic()
                await ws.send_str(json.dumps({"cid": str(cid), "rpc": {"id": options.rpc, "payload": options.payload}}))
                reply = json.loads((await ws.receive(options.timeout_s)).data)
                if "rpc" not in reply:
                    if reply.get("error", {}).get("message") == RATE_LIMITED:
                        limited += 1  # the server's per-socket limit (socket.message_rate_per_sec)
                        continue
                    raise RuntimeError(f"socket rpc failed: {reply}")
                if began >= measure_from:
                    latency.record(int((time.monotonic() - began) * 1_000_000))
                    calls += 1

        await asyncio.gather(*(loop(ws) for ws in sockets))
        await asyncio.gather(*(ws.close() for ws in sockets))
    return SocketReport("socket-rpc", {
        "sockets": len(sockets), "calls": calls, "calls_per_s": round(calls / options.duration_s),
        "rate_limited_replies": limited,
        "p50_ms": latency.percentile(50) / 1000, "p99_ms": latency.percentile(99) / 1000}, options.label)


def run_socket_scenario(options: Options, log: Any) -> SocketReport:
    from nakama_py.bench.matches import socket_matches  # these build on this module's helpers
    from nakama_py.bench.matchmaking import socket_matchmaker

    runners = {"socket-idle": socket_idle, "socket-fanout": socket_fanout, "socket-rpc": socket_rpc,
               "socket-matchmaker": socket_matchmaker, "socket-matches": socket_matches}
    return asyncio.run(runners[options.scenario.name](options, log))
