"""Every ticket of the cluster as this process knows it, with the lookups the matchmaker needs.

Tickets are kept oldest first (``Ticket.order``), and indexed by owner process, session, party and
by each keyword property value, so a query with ``+field:value`` clauses reads only the tickets
that have that value instead of the whole pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sortedcontainers import SortedDict

from nakama_py.core.matchmaker.types import Ticket
from nakama_py.core.query import Query

_Key = tuple[str, str]  # (field, keyword value)


class TicketPool:
    def __init__(self) -> None:
        self.tickets: dict[str, Ticket] = {}
        # Tickets that still search (they have intervals left, and min and max counts differ).
        self.active: dict[str, Ticket] = {}
        self._ordered: SortedDict = SortedDict()   # Ticket.order -> Ticket
        self._by_owner: dict[str, set[str]] = {}
        self._by_session: dict[str, set[str]] = {}
        self._by_party: dict[str, set[str]] = {}
        self._postings: dict[_Key, SortedDict] = {}

    def __len__(self) -> int:
        return len(self.tickets)

    def get(self, ticket: str) -> Ticket | None:
        return self.tickets.get(ticket)

    def of_session(self, session_id: str) -> set[str]:
        return set(self._by_session.get(session_id, ()))

    def of_party(self, party_id: str) -> set[str]:
        return set(self._by_party.get(party_id, ()))

    def of_owner(self, owner: str) -> list[Ticket]:
        return [self.tickets[t] for t in self._by_owner.get(owner, ())]

    def owners(self) -> list[str]:
        return list(self._by_owner)

    def add(self, ticket: Ticket, *, active: bool = True) -> None:
        old = self.tickets.get(ticket.ticket)
        if old is not None:
            self.remove(old.ticket)
        self.tickets[ticket.ticket] = ticket
        if active:
            self.active[ticket.ticket] = ticket
        self._ordered[ticket.order] = ticket
        self._by_owner.setdefault(ticket.owner, set()).add(ticket.ticket)
        for presence in ticket.presences:
            self._by_session.setdefault(presence.session_id, set()).add(ticket.ticket)
        if ticket.party_id:
            self._by_party.setdefault(ticket.party_id, set()).add(ticket.ticket)
        for key in _keywords(ticket):
            posting = self._postings.get(key)
            if posting is None:
                posting = self._postings[key] = SortedDict()
            posting[ticket.order] = ticket

    def remove(self, ticket_id: str) -> Ticket | None:
        ticket = self.tickets.pop(ticket_id, None)
        if ticket is None:
            return None
        self.active.pop(ticket_id, None)
        self._ordered.pop(ticket.order, None)
        _discard(self._by_owner, ticket.owner, ticket_id)
        for presence in ticket.presences:
            _discard(self._by_session, presence.session_id, ticket_id)
        if ticket.party_id:
            _discard(self._by_party, ticket.party_id, ticket_id)
        for key in _keywords(ticket):
            posting = self._postings.get(key)
            if posting is not None:
                posting.pop(ticket.order, None)
                if not posting:
                    del self._postings[key]
        return ticket

    def remove_many(self, ticket_ids: Iterable[str]) -> list[Ticket]:
        return [t for t in (self.remove(ticket_id) for ticket_id in ticket_ids) if t is not None]

    def active_oldest_first(self) -> list[Ticket]:
        return sorted(self.active.values(), key=lambda t: t.order)

    def candidates(self, query: Query) -> Iterator[Ticket]:
        """Tickets oldest first that may match ``query``: those holding every ``+field:value`` it
        requires when it has such clauses (the rarest value's list), else all of them."""
        smallest: SortedDict | None = None
        for clause in query.required_terms:
            posting = self._postings.get((clause.field, clause.text))
            if posting is None:
                return iter(())
            if smallest is None or len(posting) < len(smallest):
                smallest = posting
        source = self._ordered if smallest is None else smallest
        return iter(source.values())  # nothing changes the pool while one search reads it


# A ticket's own id and party are looked up by the pool's other indexes, not by queries.
_UNINDEXED = frozenset({"ticket", "party_id"})


def _keywords(ticket: Ticket) -> set[_Key]:
    keys: set[_Key] = set()
    for name, value in ticket.doc.items():
        if name in _UNINDEXED:
            continue
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, str):
                keys.add((name, item))
    return keys


def _discard(index: dict[str, set[str]], key: str, ticket_id: str) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(ticket_id)
        if not members:
            del index[key]
