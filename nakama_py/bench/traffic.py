"""What each scenario sends: request bytes built once per user where they can be, and
per request where they must differ (new account ids, idempotency keys, race times).

A ``TrafficSpec`` is plain data that crosses into the worker processes; ``build_source``
turns it into a ``RequestSource`` there.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Protocol

import orjson

from nakama_py.bench.http1 import basic_auth, finish, request_head, rpc_body, rpc_path

SHAPES = ("auth", "account", "rpc", "submit", "leaderboard", "leaderboard-rest", "standings", "mix")
# The board the racing scenarios fill (read through its REST list route by leaderboard-rest).
RACING_BOARD = "race_times"

# Race times in seconds: a realistic spread around a 52 s lap, inside the module's 1 to 3600 s bounds.
RACE_TIME_MEAN = 52.0
RACE_TIME_SPREAD = 6.0


def race_time(rng: random.Random) -> float:
    return round(min(120.0, max(30.0, rng.gauss(RACE_TIME_MEAN, RACE_TIME_SPREAD))), 3)


def submit_payload(seconds: float, idempotency_key: str) -> str:
    return orjson.dumps({"race_time": seconds, "idempotency_key": idempotency_key}).decode()


@dataclass(frozen=True)
class TrafficSpec:
    shape: str
    host_header: str
    server_key: str = "defaultkey"
    http_key: str = "defaulthttpkey"
    tokens: tuple[str, ...] = ()
    rpc: str = "echo"
    payload: str = '{"hello":"world"}'
    rpc_auth: str = "session"  # or "http-key": RPCs called server-to-server
    read_limit: int = 100
    read_share: float = 0.7
    unique_prefix: str = "bench"  # new account ids and idempotency keys start with it
    seed: int = field(default=0)

    def for_worker(self, index: int, tokens: tuple[str, ...]) -> TrafficSpec:
        """A worker's traffic: its share of the users, and its own prefix for unique ids."""
        return replace(self, tokens=tokens, unique_prefix=f"{self.unique_prefix}-{index}", seed=self.seed + index)

    @property
    def needs_tokens(self) -> bool:
        return self.shape not in ("auth", "standings") and not (self.shape == "rpc" and self.rpc_auth == "http-key")

    @property
    def kinds(self) -> tuple[str, ...]:
        return {
            "auth": ("authenticate_custom",),
            "account": ("get_account",),
            "rpc": (self.rpc,),
            "submit": ("submit_race_time",),
            "leaderboard": ("get_leaderboard",),
            "leaderboard-rest": ("list_leaderboard_records",),
            "standings": ("get_standings",),
            "mix": ("get_leaderboard", "submit_race_time"),
        }[self.shape]


class RequestSource(Protocol):
    kinds: tuple[str, ...]

    def next_request(self) -> tuple[bytes, int]:
        """The next request's bytes and the index of its kind."""

    def set_token(self, user: int, token: str) -> None:
        """Use a refreshed session token for user ``user`` from now on."""


class PerUserRequests:
    """The same request for every user, built once per token, sent round-robin."""

    def __init__(self, kinds: tuple[str, ...], method: str, path: str, host: str, body: bytes,
                 tokens: tuple[str, ...], auth: str | None = None) -> None:
        self.kinds = kinds
        self._method, self._path, self._host, self._body = method, path, host, body
        if auth is not None or not tokens:
            headers = {"Authorization": auth} if auth is not None else {}
            self._requests = [finish(request_head(method, path, host, headers), body)]
        else:
            self._requests = [self._build(token) for token in tokens]
        self._at = 0

    def _build(self, token: str) -> bytes:
        return finish(request_head(self._method, self._path, self._host, {"Authorization": f"Bearer {token}"}),
                      self._body)

    def next_request(self) -> tuple[bytes, int]:
        at = self._at
        self._at = at + 1 if at + 1 < len(self._requests) else 0
        return self._requests[at], 0

    def set_token(self, user: int, token: str) -> None:
        if len(self._requests) > user:
            self._requests[user] = self._build(token)


class NewAccounts:
    """``authenticate/custom?create=true`` with an id never used before."""

    kinds: tuple[str, ...] = ("authenticate_custom",)

    def __init__(self, host: str, server_key: str, prefix: str) -> None:
        self._head = request_head("POST", "/v2/account/authenticate/custom?create=true", host,
                                  {"Authorization": basic_auth(server_key)})
        self._prefix = prefix.encode()
        self._counter = 0

    def next_request(self) -> tuple[bytes, int]:
        self._counter += 1
        return finish(self._head, b'{"id":"%s-%d"}' % (self._prefix, self._counter)), 0

    def set_token(self, user: int, token: str) -> None:
        return None


class Submissions:
    """``submit_race_time`` round-robin over users, each with a fresh idempotency key."""

    kinds: tuple[str, ...] = ("submit_race_time",)

    def __init__(self, host: str, tokens: tuple[str, ...], prefix: str, rng: random.Random) -> None:
        self._host = host
        self._heads = [self._head(token) for token in tokens]
        self._prefix = prefix
        self._rng = rng
        self._counter = 0
        self._at = 0

    def _head(self, token: str) -> bytes:
        return request_head("POST", rpc_path("submit_race_time"), self._host, {"Authorization": f"Bearer {token}"})

    def next_request(self) -> tuple[bytes, int]:
        self._counter += 1
        at = self._at
        self._at = at + 1 if at + 1 < len(self._heads) else 0
        payload = submit_payload(race_time(self._rng), f"{self._prefix}-{self._counter}")
        return finish(self._heads[at], rpc_body(payload)), 0

    def set_token(self, user: int, token: str) -> None:
        self._heads[user] = self._head(token)


class Mix:
    """Leaderboard reads with probability ``read_share``, submissions otherwise."""

    kinds: tuple[str, ...] = ("get_leaderboard", "submit_race_time")

    def __init__(self, reads: PerUserRequests, submits: Submissions, read_share: float, rng: random.Random) -> None:
        self._reads, self._submits = reads, submits
        self._share = read_share
        self._random = rng.random

    def next_request(self) -> tuple[bytes, int]:
        if self._random() < self._share:
            return self._reads.next_request()[0], 0
        return self._submits.next_request()[0], 1

    def set_token(self, user: int, token: str) -> None:
        self._reads.set_token(user, token)
        self._submits.set_token(user, token)


def standings_path(limit: int) -> str:
    """The racing module's public, cacheable standings of the current cycle (no credentials)."""
    return f"/racing/standings?limit={limit}"


def leaderboard_payload(limit: int) -> str:
    return orjson.dumps({"limit": limit}).decode()


def build_source(spec: TrafficSpec) -> RequestSource:
    rng = random.Random(spec.seed)
    host = spec.host_header
    if spec.shape == "auth":
        return NewAccounts(host, spec.server_key, spec.unique_prefix)
    if spec.shape == "account":
        return PerUserRequests(spec.kinds, "GET", "/v2/account", host, b"", spec.tokens)
    if spec.shape == "rpc":
        if spec.rpc_auth == "http-key":
            return PerUserRequests(spec.kinds, "POST", rpc_path(spec.rpc, spec.http_key), host,
                                   rpc_body(spec.payload), (), auth=None)
        return PerUserRequests(spec.kinds, "POST", rpc_path(spec.rpc), host, rpc_body(spec.payload), spec.tokens)
    if spec.shape == "leaderboard-rest":
        return PerUserRequests(spec.kinds, "GET", f"/v2/leaderboard/{RACING_BOARD}?limit={spec.read_limit}", host,
                               b"", spec.tokens)
    if spec.shape == "standings":
        return PerUserRequests(spec.kinds, "GET", standings_path(spec.read_limit), host, b"", (), auth=None)
    reads = PerUserRequests(("get_leaderboard",), "POST", rpc_path("get_leaderboard"), host,
                            rpc_body(leaderboard_payload(spec.read_limit)), spec.tokens)
    if spec.shape == "leaderboard":
        return reads
    submits = Submissions(host, spec.tokens, spec.unique_prefix, rng)
    if spec.shape == "submit":
        return submits
    if spec.shape == "mix":
        return Mix(reads, submits, spec.read_share, rng)
    raise ValueError(f"unknown traffic shape {spec.shape!r}")
