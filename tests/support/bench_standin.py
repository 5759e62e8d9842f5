"""A stand-in for a Nakama-compatible server, for the load generator's own tests.

It speaks the HTTP contract the bench relies on (custom authentication, session refresh,
GET /v2/account, RPCs with JSON-string bodies and http_key or Bearer auth, and the racing
RPCs of shared/spec/racing.md with cycles, idempotency and an exactly-once finalize) and
adds what the real server cannot do on demand: stall for a while, and count what it saw.
It runs on its own event loop in a thread, so the bench (which blocks) can drive it.
"""

from __future__ import annotations

import asyncio
import base64
import math
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jwt
import orjson
import pytest
from aiohttp import web

from tests.support.ports import free_port

KEY = "stand-in signing key, long enough for HS256"


@dataclass
class StandInConfig:
    server_key: str = "defaultkey"
    http_key: str = "defaulthttpkey"
    token_lifetime_s: int = 600
    cycle_seconds: int = 300
    finalize_work_s: float = 0.3  # how long a finalize takes, so load overlaps it
    chunked_leaderboard: bool = True  # send get_leaderboard replies chunked, as Go does for large bodies
    auto_finalize: bool = False  # finalize each cycle itself as it ends, like a reset hook
    close_every_answer: bool = False  # "Connection: close" on every answer
    refresh_failures: int = 0  # the first refreshes answer 500, as Nakama's do when its database read times out


@dataclass
class StandInState:
    users: dict[str, str] = field(default_factory=dict)  # custom id -> user id
    records: dict[int, dict[str, int]] = field(default_factory=dict)  # cycle -> user id -> best ms
    replies: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (user, idempotency key) -> reply
    finalized: dict[int, float] = field(default_factory=dict)  # cycle -> duration ms
    finalize_calls: list[int] = field(default_factory=list)
    last_reset: dict[str, object] | None = None
    seen: dict[str, int] = field(default_factory=dict)  # route -> requests
    bad_bodies: int = 0
    stall_until: float = 0.0  # monotonic: requests wait until then
    refresh_failures_sent: int = 0


class StandIn:
    def __init__(self, config: StandInConfig | None = None) -> None:
        self.config = config or StandInConfig()
        self.state = StandInState()
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._scheduler: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        if self._scheduler is not None:
            self._loop.call_soon_threadsafe(self._scheduler.cancel)
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def stall(self, after_s: float, for_s: float) -> None:
        """From ``after_s`` from now, hold every request until ``for_s`` later."""
        def arm() -> None:
            self.state.stall_until = time.monotonic() + for_s
        self._loop.call_soon_threadsafe(lambda: self._loop.call_later(after_s, arm))

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes([
            web.post("/v2/account/authenticate/custom", self.authenticate_custom),
            web.post("/v2/account/session/refresh", self.session_refresh),
            web.get("/v2/account", self.account),
            web.post("/v2/rpc/{id}", self.rpc),
        ])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        if self.config.auto_finalize:
            self._scheduler = asyncio.get_running_loop().create_task(self._finalize_each_cycle())

    async def _finalize_each_cycle(self) -> None:
        # Claims each cycle a little before it ends, so it surely wins the race with a manual call.
        while True:
            cycle = self._cycle()
            ends = (cycle + 1) * self.config.cycle_seconds
            await asyncio.sleep(max(0.0, ends - 0.3 - time.time()))
            self.state.finalized[cycle] = 0.0
            await asyncio.sleep(max(0.0, ends - time.time()))
            await self._finalize_work(cycle)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: object) -> web.StreamResponse:
        route = request.match_info.get("id") or request.path
        self.state.seen[route] = self.state.seen.get(route, 0) + 1
        wait = self.state.stall_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        response: web.StreamResponse = await handler(request)  # type: ignore[operator]
        if self.config.close_every_answer:
            response.force_close()
        return response

    # -- accounts and sessions -----------------------------------------------------------

    def _tokens(self, user_id: str) -> dict[str, str]:
        now = int(time.time())
        claims = {"uid": user_id, "usn": user_id[:8], "tid": str(uuid.uuid4()), "iat": now,
                  "exp": now + self.config.token_lifetime_s}
        refresh = {**claims, "exp": now + 3600, "refresh": True}
        return {"token": jwt.encode(claims, KEY), "refresh_token": jwt.encode(refresh, KEY)}

    def _server_key_ok(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.config.server_key}:".encode()).decode()
        return request.headers.get("Authorization") == expected

    def _session(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        try:
            claims = jwt.decode(header[7:], KEY, algorithms=["HS256"])  # checks exp
        except jwt.PyJWTError:
            return None
        return None if claims.get("refresh") else str(claims["uid"])

    async def authenticate_custom(self, request: web.Request) -> web.Response:
        if not self._server_key_ok(request):
            return _error(401, 16, "Server key invalid")
        body = orjson.loads(await request.read())
        custom_id = body.get("id", "")
        if not 6 <= len(custom_id) <= 128:
            return _error(400, 3, "Custom ID invalid, must be 6-128 bytes.")
        created = custom_id not in self.state.users
        user_id = self.state.users.setdefault(custom_id, str(uuid.uuid4()))
        return _json({**self._tokens(user_id), **({"created": True} if created else {})})

    async def session_refresh(self, request: web.Request) -> web.Response:
        if not self._server_key_ok(request):
            return _error(401, 16, "Server key invalid")
        body = orjson.loads(await request.read())
        try:
            claims = jwt.decode(body["token"], KEY, algorithms=["HS256"])
        except (jwt.PyJWTError, KeyError):
            return _error(401, 16, "Refresh token invalid or expired.")
        if self.state.refresh_failures_sent < self.config.refresh_failures:
            self.state.refresh_failures_sent += 1
            return _error(500, 13, "Error finding user account.")
        return _json(self._tokens(str(claims["uid"])))

    async def account(self, request: web.Request) -> web.Response:
        user_id = self._session(request)
        if user_id is None:
            return _error(401, 16, "Auth token invalid")
        return _json({"user": {"id": user_id}})

    # -- RPCs ------------------------------------------------------------------------------

    async def rpc(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("http_key")
        user_id = None
        if key is not None:
            if key != self.config.http_key:
                return _error(401, 16, "HTTP key invalid")
        else:
            user_id = self._session(request)
            if user_id is None:
                return _error(401, 16, "Auth token invalid")
        raw = await request.read()
        try:
            text = orjson.loads(raw) if raw else ""
            if not isinstance(text, str):
                raise ValueError
            payload = orjson.loads(text) if text else {}
        except ValueError:
            self.state.bad_bodies += 1
            return _error(400, 3, "json: cannot unmarshal object into Go value of type string")
        rpc_id = request.match_info["id"].lower()
        if rpc_id == "echo":
            return _json({"payload": text})
        if rpc_id == "submit_race_time":
            return self._submit(user_id, payload)
        if rpc_id == "get_leaderboard":
            return await self._leaderboard(request, user_id, payload)
        if rpc_id == "manual_reset_leaderboard":
            return await self._finalize(user_id, payload)
        if rpc_id == "system_metrics":
            return _reply({"current_cycle": self._cycle(), "last_reset": self.state.last_reset})
        return _error(404, 5, "RPC function not found")

    def _cycle(self) -> int:
        return int(time.time() // self.config.cycle_seconds)

    def _submit(self, user_id: str | None, payload: dict[str, object]) -> web.Response:
        if user_id is None:
            return _error(403, 7, "submit_race_time needs a session")
        race_time, key = payload.get("race_time"), payload.get("idempotency_key")
        if not isinstance(race_time, int | float) or not math.isfinite(race_time) or not 1 <= race_time <= 3600:
            return _error(400, 3, "race_time must be between 1 and 3600")
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            return _error(400, 3, "idempotency_key must be 1-128 characters")
        known = self.state.replies.get((user_id, key))
        if known is not None:
            return web.Response(body=known, content_type="application/json")
        cycle = self._cycle()
        records = self.state.records.setdefault(cycle, {})
        ms = round(race_time * 1000)
        best = min(ms, records.get(user_id, ms))
        records[user_id] = best
        rank = 1 + sum(1 for v in records.values() if v < best)
        reply = orjson.dumps({"payload": orjson.dumps({
            "success": True, "cycle": cycle, "race_time_ms": ms, "best_time_ms": best, "rank": rank,
            "personal_best": best == ms}).decode()})
        self.state.replies[(user_id, key)] = reply
        return web.Response(body=reply, content_type="application/json")

    async def _leaderboard(self, request: web.Request, user_id: str | None,
                           payload: dict[str, object]) -> web.StreamResponse:
        cycle = int(payload.get("cycle", self._cycle()))  # type: ignore[call-overload]
        limit = int(payload.get("limit", 100))  # type: ignore[call-overload]
        records = self.state.records.get(cycle, {})
        ordered = sorted(records.items(), key=lambda item: item[1])
        entries = [{"rank": i + 1, "user_id": uid, "username": uid[:8], "race_time_ms": ms}
                   for i, (uid, ms) in enumerate(ordered[:limit])]
        ends_at = datetime.fromtimestamp((cycle + 1) * self.config.cycle_seconds, UTC)
        body = orjson.dumps({"payload": orjson.dumps({
            "cycle": cycle, "ends_at": ends_at.isoformat().replace("+00:00", "Z"), "entries": entries,
            "total": len(records), "me": None}).decode()})
        if not self.config.chunked_leaderboard:
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            for at in range(0, len(body), 700):
                await response.write(body[at:at + 700])
            await response.write_eof()
        except ConnectionResetError:  # the load generator hung up at the end of its run
            pass
        return response

    async def _finalize(self, user_id: str | None, payload: dict[str, object]) -> web.Response:
        if user_id is not None:
            return _error(403, 7, "manual_reset_leaderboard needs the http key")
        cycle = int(payload.get("cycle", self._cycle() - 1))  # type: ignore[call-overload]
        if cycle >= self._cycle():
            return _error(400, 3, f"cycle {cycle} has not ended")
        self.state.finalize_calls.append(cycle)
        if cycle in self.state.finalized:
            return _reply({"cycle": cycle, "finalized": True, "already_finalized": True, "rewarded": [],
                           "duration_ms": self.state.finalized[cycle]})
        self.state.finalized[cycle] = 0.0  # taken: a second call sees it at once
        duration, top = await self._finalize_work(cycle)
        return _reply({"cycle": cycle, "finalized": True, "already_finalized": False,
                       "rewarded": [{"user_id": uid} for uid in top], "duration_ms": duration})

    async def _finalize_work(self, cycle: int) -> tuple[float, list[str]]:
        started = time.monotonic()
        await asyncio.sleep(self.config.finalize_work_s)
        duration = round((time.monotonic() - started) * 1000, 1)
        self.state.finalized[cycle] = duration
        self.state.last_reset = {"cycle": cycle, "duration_ms": duration, "at": time.time()}
        top = sorted(self.state.records.get(cycle, {}).items(), key=lambda item: item[1])[:10]
        return duration, [uid for uid, _ in top]


def _json(data: object) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json")


def _reply(data: object) -> web.Response:
    return _json({"payload": orjson.dumps(data).decode()})


def _error(status: int, code: int, message: str) -> web.Response:
    return web.Response(body=orjson.dumps({"error": message, "message": message, "code": code}), status=status,
                        content_type="application/json")


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn()
    server.start()
    try:
        yield server
    finally:
        server.stop()
