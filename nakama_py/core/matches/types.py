"""What matches are made of, and ``MatchCore``: the callbacks an authoritative match runs.

The runtime adapts a module's match handler to ``MatchCore`` (runtime/match_handlers.py); core
never sees module code. ``MatchHandle`` is what a running match offers back to its callbacks
(the dispatcher: broadcast, kick, label update).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from nakama_py.core.presence import Presence

# Nakama's bounds: a label is at most 2048 bytes; the tick rate 1 to 60 per second.
LABEL_MAX_BYTES = 2048
TICK_RATE_MIN, TICK_RATE_MAX = 1, 60
# How long a join attempt or a signal waits for the match's answer (Nakama's 10 s).
CALL_TIMEOUT_SEC = 10.0


@dataclass(frozen=True, slots=True)
class MatchMessage:
    """One ``match_data_send`` a player sent to an authoritative match, as ``match_loop`` gets it."""

    user_id: str
    session_id: str
    username: str
    node: str               # the process holding the sender's socket
    op_code: int
    data: bytes
    reliable: bool
    receive_time_ms: int    # when the server received it, unix milliseconds


@dataclass(frozen=True, slots=True)
class MatchListing:
    """A match as ``GET /v2/match``, ``nk.match_get`` and ``nk.match_list`` answer it (Nakama's api.Match)."""

    match_id: str
    authoritative: bool
    label: str | None       # None for relayed matches
    size: int
    tick_rate: int
    handler_name: str


@dataclass(frozen=True, slots=True)
class JoinResult:
    """The answer to a join attempt, wherever the match runs."""

    found: bool
    allow: bool = False
    reason: str = ""
    label: str = ""
    presences: tuple[Presence, ...] = ()
    is_new: bool = True


class MatchHandle(Protocol):
    """A running match, as its callbacks (the runtime's dispatcher and ``ctx``) see it."""

    @property
    def match_id(self) -> str: ...

    @property
    def node(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def tick_rate(self) -> int: ...

    @property
    def tick_lateness(self) -> float:
        """How late (seconds) the current tick started against the match's schedule."""

    def broadcast(self, op_code: int, data: bytes, presences: Sequence[Presence] | None, sender: Presence | None,
                  reliable: bool, *, deferred: bool = False) -> None:
        """Send ``match_data`` to the match's presences (or these among them); sent once the callback returns."""

    def kick(self, presences: Sequence[Presence]) -> None:
        """Remove these presences from the match (they get the leave like any other)."""

    def update_label(self, label: str) -> None:
        """Change the label listings see; raises ``NakamaError`` past ``LABEL_MAX_BYTES``."""

    def presence_of(self, user_id: str, session_id: str) -> Presence | None:
        """The match's presence of this session, if it is in the match."""


class MatchCore(Protocol):
    """A module's match handler, driven by ``MatchHandler``. ``init`` returns (state, tick rate,
    label); each other callback returns the new state (with its answer), None to end the match;
    any exception ends it too (and closes its players' sockets, as Nakama does)."""

    handler_name: str

    async def init(self, handle: MatchHandle, params: Mapping[str, Any]) -> tuple[Any, int, str]: ...

    async def join_attempt(self, tick: int, state: Any, presence: Presence,
                           metadata: Mapping[str, str]) -> tuple[Any, bool, str]: ...

    async def join(self, tick: int, state: Any, presences: list[Presence]) -> Any: ...

    async def leave(self, tick: int, state: Any, presences: list[Presence]) -> Any: ...

    async def loop(self, tick: int, state: Any, messages: list[MatchMessage]) -> Any: ...

    async def terminate(self, tick: int, state: Any, grace_seconds: int) -> Any: ...

    async def signal(self, tick: int, state: Any, data: str) -> tuple[Any, str]: ...
