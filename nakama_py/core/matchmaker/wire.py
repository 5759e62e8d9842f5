"""Tickets on the cluster bus (topic ``nakama.matchmaker``): compact JSON arrays."""

from __future__ import annotations

from typing import Any

from nakama_py.core.matchmaker.types import MatchmakerPresence, Ticket
from nakama_py.core.query import parse_query


def encode(ticket: Ticket) -> list[Any]:
    return [ticket.ticket, ticket.owner, ticket.node,
            [[p.user_id, p.session_id, p.username, p.node] for p in ticket.presences],
            ticket.session_id, ticket.party_id, ticket.query_text, ticket.min_count, ticket.max_count,
            ticket.count_multiple, ticket.string_properties, ticket.numeric_properties, ticket.created_at]


def decode(item: list[Any]) -> Ticket:
    """A ticket another process added (its query parsed here: it was valid where it was added)."""
    (ticket, owner, node, presences, session_id, party_id, query, min_count, max_count, count_multiple,
     strings, numbers, created_at) = item
    return Ticket(
        ticket=ticket, owner=owner, node=node,
        presences=tuple(MatchmakerPresence(*p) for p in presences),
        session_id=session_id, party_id=party_id, query_text=query, query=parse_query(query),
        min_count=min_count, max_count=max_count, count_multiple=count_multiple,
        string_properties=dict(strings), numeric_properties={k: float(v) for k, v in numbers.items()},
        created_at=created_at)
