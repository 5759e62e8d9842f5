"""Nakama's grouping rules for one matchmaker interval, on a pool of tickets (no server)."""

from __future__ import annotations

import itertools

from nakama_py.config import MatchmakerConfig
from nakama_py.core.matchmaker.grouping import run_interval
from nakama_py.core.matchmaker.pool import TicketPool
from nakama_py.core.matchmaker.types import MatchmakerPresence, Ticket
from nakama_py.core.query import parse_query

_ids = itertools.count(1)


def ticket(query: str = "*", *, strings: dict[str, str] | None = None, numbers: dict[str, float] | None = None,
           min_count: int = 2, max_count: int = 2, count_multiple: int = 1, players: int = 1, party: str = "",
           sessions: list[str] | None = None) -> Ticket:
    n = next(_ids)
    session_ids = sessions or [f"s{n}-{i}" for i in range(players)]
    presences = tuple(MatchmakerPresence(f"u-{s}", s, f"user-{s}", "nakama") for s in session_ids)
    return Ticket(ticket=f"t{n:04d}", owner="p", node="nakama", presences=presences,
                  session_id="" if party else session_ids[0], party_id=party, query_text=query,
                  query=parse_query(query), min_count=min_count, max_count=max_count,
                  count_multiple=count_multiple, string_properties=strings or {},
                  numeric_properties=numbers or {}, created_at=n)


def pool_of(*tickets: Ticket) -> TicketPool:
    pool = TicketPool()
    for t in tickets:
        pool.add(t)
    return pool


def groups(pool: TicketPool, **config: object) -> list[set[str]]:
    result = run_interval(pool, MatchmakerConfig(**config))
    for expired in result.expired:
        pool.active.pop(expired, None)
    for group in result.groups:
        pool.remove_many([t.ticket for t in group])
    return [{t.ticket for t in group} for group in result.groups]


def test_two_tickets_whose_queries_accept_each_other_match() -> None:
    a = ticket("properties.mode:race", strings={"mode": "race"})
    b = ticket("properties.mode:race", strings={"mode": "race"})
    assert groups(pool_of(a, b)) == [{a.ticket, b.ticket}]


def test_tickets_no_query_accepts_stay_apart() -> None:
    a = ticket("properties.a5:bar", strings={"a5": "baz"})
    b = ticket("properties.a5:bar", strings={"a5": "baz"})
    assert groups(pool_of(a, b)) == []


def test_without_rev_precision_only_the_searching_ticket_must_accept() -> None:
    # The older ticket searches first: its query accepts the newer one, whose query refuses it.
    a = ticket("+properties.skill:>=10 +properties.skill:<=20", numbers={"skill": 25})
    b = ticket("+properties.skill:>=10 +properties.skill:<=20", numbers={"skill": 15})
    assert groups(pool_of(a, b)) == [{a.ticket, b.ticket}]
    c = ticket("+properties.skill:>=10 +properties.skill:<=20", numbers={"skill": 25})
    d = ticket("+properties.skill:>=10 +properties.skill:<=20", numbers={"skill": 15})
    assert groups(pool_of(c, d), rev_precision=True) == []


def test_a_ticket_that_expired_alone_is_still_found_by_a_later_one() -> None:
    pool = pool_of(a := ticket("properties.a3:bar", strings={"a3": "baz"}))
    assert groups(pool) == [] and a.ticket not in pool.active  # min == max: one interval of searching
    pool.add(b := ticket("properties.a3:baz", strings={"a3": "bar"}))
    assert groups(pool) == [{a.ticket, b.ticket}]


def test_a_group_waits_for_max_count_until_the_last_interval() -> None:
    tickets = [ticket(min_count=2, max_count=4) for _ in range(3)]
    pool = pool_of(*tickets)
    assert groups(pool, max_intervals=2) == []  # 3 of 4 on the first interval: wait
    assert groups(pool, max_intervals=2) == [{t.ticket for t in tickets}]  # last interval: 3 will do


def test_a_full_group_forms_at_once_and_the_rest_waits() -> None:
    tickets = [ticket(min_count=2, max_count=2) for _ in range(3)]
    pool = pool_of(*tickets)
    assert groups(pool) == [{tickets[0].ticket, tickets[1].ticket}]
    assert set(pool.tickets) == {tickets[2].ticket}


def test_count_multiple_trims_the_group_keeping_the_longest_waiting() -> None:
    tickets = [ticket(min_count=2, max_count=4, count_multiple=2) for _ in range(3)]
    pool = pool_of(*tickets)
    assert groups(pool, max_intervals=1) == [{tickets[0].ticket, tickets[1].ticket}]


def test_every_ticket_of_a_group_accepts_its_size() -> None:
    big = ticket(min_count=3, max_count=3)
    small = ticket(min_count=2, max_count=2)
    assert groups(pool_of(big, small)) == []


def test_a_search_finds_only_tickets_with_min_at_least_and_max_at_most_its_own() -> None:
    small = ticket(min_count=2, max_count=2)
    large = ticket(min_count=2, max_count=4)
    pool = pool_of(small, large)
    pool.active.pop(large.ticket)  # only the small ticket searches: a max of 4 is beyond its own
    assert groups(pool, max_intervals=1) == []
    pool.active[large.ticket] = large  # the large one's search finds the small one: 2 suits both
    assert groups(pool, max_intervals=1) == [{small.ticket, large.ticket}]


def test_party_tickets_carry_all_their_players_and_never_match_their_own_party() -> None:
    party = ticket(party="p1", players=2, min_count=4, max_count=4)
    same_party = ticket(party="p1", players=2, min_count=4, max_count=4)
    assert groups(pool_of(party, same_party)) == []
    other = ticket(party="p2", players=2, min_count=4, max_count=4)
    assert groups(pool_of(party, other)) == [{party.ticket, other.ticket}]


def test_one_session_is_never_matched_with_itself() -> None:
    a = ticket(sessions=["same"])
    b = ticket(sessions=["same"])
    assert groups(pool_of(a, b)) == []


def test_the_best_scoring_ticket_is_chosen_before_an_older_one() -> None:
    searcher = ticket("properties.region:eu^5 properties.region:us", strings={"region": "eu"})
    us = ticket(strings={"region": "us"})
    eu = ticket(strings={"region": "eu"})
    assert groups(pool_of(searcher, us, eu)) == [{searcher.ticket, eu.ticket}]


def test_required_values_are_looked_up_not_scanned() -> None:
    pool = pool_of(*[ticket(strings={"mode": f"m{i}"}) for i in range(50)])
    query = parse_query("+properties.mode:m7 +properties.skill:>1")
    assert [t.string_properties["mode"] for t in pool.candidates(query)] == ["m7"]
    assert list(pool.candidates(parse_query("+properties.mode:nope"))) == []
    assert len(list(pool.candidates(parse_query("properties.mode:m7")))) == 50  # optional: no shortcut


def test_a_thousand_pairs_form_in_one_interval() -> None:
    tickets = [ticket("+properties.mode:race", strings={"mode": "race"}) for _ in range(2000)]
    formed = groups(pool_of(*tickets))
    assert len(formed) == 1000 and set().union(*formed) == {t.ticket for t in tickets}
