"""The matchmaker: Nakama's tickets, intervals and grouping, across every process of the cluster.

``service.py`` (the API the socket, parties and the runtime call; the bus replica; the leader's
interval), ``grouping.py`` (one interval's grouping rules), ``pool.py`` (the tickets and their
lookups), ``rules.py`` (request checks), ``types.py``, ``errors.py``, ``wire.py`` (bus encoding).
"""

from __future__ import annotations

from nakama_py.core.matchmaker.errors import (
    MatchmakerDuplicateSession,
    MatchmakerError,
    MatchmakerNotAvailable,
    MatchmakerQueryInvalid,
    MatchmakerTicketNotFound,
    MatchmakerTooManyTickets,
)
from nakama_py.core.matchmaker.rules import check_counts, query_or_all
from nakama_py.core.matchmaker.service import MatchedHook, MatchmakerService, MatchmakerStats
from nakama_py.core.matchmaker.types import MatchmakerEntry, MatchmakerPresence

__all__ = [
    "MatchedHook",
    "MatchmakerDuplicateSession",
    "MatchmakerEntry",
    "MatchmakerError",
    "MatchmakerNotAvailable",
    "MatchmakerPresence",
    "MatchmakerQueryInvalid",
    "MatchmakerService",
    "MatchmakerStats",
    "MatchmakerTicketNotFound",
    "MatchmakerTooManyTickets",
    "check_counts",
    "query_or_all",
]
