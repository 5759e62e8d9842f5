"""The matchmaker's values: who is matchmaking (presences), a ticket, and what the matched hook sees."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nakama_py.core.query import FieldValue, Query, flatten


@dataclass(frozen=True, slots=True)
class MatchmakerPresence:
    """One player of a ticket (a solo ticket has one, a party ticket one per party member)."""

    user_id: str
    session_id: str
    username: str
    node: str


@dataclass(frozen=True, slots=True)
class MatchmakerEntry:
    """One matched player as the runtime's matchmaker-matched function sees it (Nakama's MatchmakerEntry)."""

    ticket: str
    presence: MatchmakerPresence
    properties: dict[str, Any]      # the ticket's string and numeric properties together
    party_id: str
    create_time: int                # unix nanoseconds the ticket was added


@dataclass(slots=True, eq=False)
class Ticket:
    """A ticket in the pool. ``owner`` is the bus process that added it (and re-sends it after a
    leader change); ``intervals`` counts the intervals it searched, on the leader only."""

    ticket: str
    owner: str
    node: str
    presences: tuple[MatchmakerPresence, ...]
    session_id: str                 # empty for a party ticket
    party_id: str                   # empty for a solo ticket
    query_text: str
    query: Query
    min_count: int
    max_count: int
    count_multiple: int
    string_properties: dict[str, str]
    numeric_properties: dict[str, float]
    created_at: int                 # unix nanoseconds
    intervals: int = 0
    doc: dict[str, FieldValue] = field(default_factory=dict)
    session_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.doc = ticket_document(self)
        self.session_ids = frozenset(p.session_id for p in self.presences)

    @property
    def count(self) -> int:
        return len(self.presences)

    @property
    def order(self) -> tuple[int, str]:
        """Oldest first; the ticket id breaks ties so every process orders alike."""
        return self.created_at, self.ticket

    @property
    def properties(self) -> dict[str, Any]:
        return merged_properties(self.string_properties, self.numeric_properties)

    def entries(self) -> list[MatchmakerEntry]:
        properties = self.properties
        return [MatchmakerEntry(self.ticket, presence, properties, self.party_id, self.created_at)
                for presence in self.presences]


def merged_properties(strings: Mapping[str, str], numbers: Mapping[str, float]) -> dict[str, Any]:
    merged: dict[str, Any] = dict(strings)
    merged.update(numbers)  # as in Nakama, a numeric property wins over a string one of the same name
    return merged


def ticket_document(ticket: Ticket) -> dict[str, FieldValue]:
    """The fields a query reads, as Nakama indexes a ticket: its properties under ``properties.``
    and its own ``ticket``, ``min_count``, ``max_count``, ``party_id`` and ``created_at``."""
    doc = flatten(merged_properties(ticket.string_properties, ticket.numeric_properties), "properties")
    doc["ticket"] = ticket.ticket
    doc["min_count"] = float(ticket.min_count)
    doc["max_count"] = float(ticket.max_count)
    doc["party_id"] = ticket.party_id
    doc["created_at"] = float(ticket.created_at)
    return doc
