"""One matchmaker interval: Nakama's default grouping, over the pool of one process.

Each active ticket, oldest first, searches the pool: the tickets its query matches (with a min
count at least its own, a max count at most its own, not of its party), best score first and
oldest first among equals. Hits fill candidate groups up to its max count; a group that reaches
the max count, or, on the ticket's last interval, is the best it can get within min and max,
is trimmed to the count multiple and formed if every ticket in it accepts its size. With
``rev_precision`` a hit's own query must accept the searcher and every ticket already in the
group (and theirs the hit), until ``rev_threshold`` intervals' worth of time has been spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from nakama_py.config import MatchmakerConfig
from nakama_py.core.matchmaker.pool import TicketPool
from nakama_py.core.matchmaker.types import Ticket

# Whether the first ticket's query accepts the second ticket (memoized for one interval).
_Accepts = Callable[[Ticket, Ticket], bool]


@dataclass
class IntervalResult:
    groups: list[list[Ticket]] = field(default_factory=list)   # each: the tickets of one match (out of the pool)
    expired: list[str] = field(default_factory=list)            # tickets that stop searching


def run_interval(pool: TicketPool, config: MatchmakerConfig) -> IntervalResult:
    result = IntervalResult()
    selected: set[str] = set()
    deadline = None
    if config.rev_precision and config.rev_threshold > 0:
        deadline = time.monotonic() + config.interval_sec * config.rev_threshold
    accepts: dict[tuple[str, str], bool] = {}  # (ticket whose query, ticket judged) -> accepted

    def accepted(judge: Ticket, other: Ticket) -> bool:
        key = (judge.ticket, other.ticket)
        answer = accepts.get(key)
        if answer is None:
            answer = accepts[key] = judge.query.matches(other.doc)
        return answer

    for active in pool.active_oldest_first():
        if active.ticket in selected:
            continue
        rev = config.rev_precision and (deadline is None or time.monotonic() < deadline)
        active.intervals += 1
        last_interval = active.intervals >= config.max_intervals or active.min_count == active.max_count
        if last_interval:
            result.expired.append(active.ticket)
        group = _search(pool, active, selected, config, last_interval, rev, accepted)
        if group is not None:
            result.groups.append(group)
            selected.update(t.ticket for t in group)
            # Out of the pool at once, as Nakama drops them from its index: later searches skip them for free.
            pool.remove_many([t.ticket for t in group])
    return result


def _search(pool: TicketPool, active: Ticket, selected: set[str], config: MatchmakerConfig, last_interval: bool,
            rev: bool, accepted: _Accepts) -> list[Ticket] | None:
    combos: list[list[Ticket]] = []
    hits = _with_last(_hits(pool, active, selected))
    for hit, is_last in hits:
        if rev and not accepted(hit, active):
            continue
        if active.max_count < hit.max_count and hit.intervals <= config.max_intervals:
            continue  # the hit may still find a larger match: let it wait
        if active.session_ids & hit.session_ids:
            continue
        index = _place(combos, hit, active, rev, accepted)
        combo = combos[index]
        size = _size(combo) + active.count
        if not (size == active.max_count or (
                last_interval and active.min_count <= size <= active.max_count and is_last)):
            continue
        remainder = size % active.count_multiple
        if remainder:
            trimmed = _trim(combo, remainder)
            if trimmed is None:
                continue
            combo = combos[index] = trimmed
            size = _size(combo) + active.count
            if size % active.count_multiple:
                continue
        if any(t.min_count > size or t.max_count < size or size % t.count_multiple for t in combo):
            continue
        return [*combo, active]
    return None


def _hits(pool: TicketPool, active: Ticket, selected: set[str]) -> Iterator[Ticket]:
    """What the active ticket's search finds, in Nakama's order (score down, then oldest first)."""
    query = active.query
    party = active.party_id

    def eligible(candidate: Ticket) -> bool:
        return (candidate.ticket != active.ticket and candidate.ticket not in selected
                and candidate.min_count >= active.min_count and candidate.max_count <= active.max_count
                and not (party and candidate.party_id == party))

    candidates = pool.candidates(query)
    if query.constant_score is not None:
        # Every match scores alike: oldest first is the order, and the search can stop early.
        return (c for c in candidates if eligible(c) and query.matches(c.doc))
    scored = []
    for candidate in candidates:
        if eligible(candidate):
            score = query.evaluate(candidate.doc)
            if score is not None:
                scored.append((-score, candidate.order, candidate))
    scored.sort(key=lambda item: (item[0], item[1]))
    return (candidate for _, _, candidate in scored)


def _with_last(items: Iterator[Ticket]) -> Iterator[tuple[Ticket, bool]]:
    """Each item and whether it is the last one (looks one ahead)."""
    previous = next(items, None)
    while previous is not None:
        following = next(items, None)
        yield previous, following is None
        previous = following


def _place(combos: list[list[Ticket]], hit: Ticket, active: Ticket, rev: bool, accepted: _Accepts) -> int:
    """Add the hit to the first candidate group with room that it gets along with; else a new one."""
    for index, combo in enumerate(combos):
        if _size(combo) + hit.count + active.count > active.max_count:
            continue
        if any(t.session_ids & hit.session_ids for t in combo):
            continue
        if rev and not all(accepted(hit, t) and accepted(t, hit) for t in combo):
            continue
        combo.append(hit)
        return index
    combos.append([hit])
    return len(combos) - 1


def _size(combo: Sequence[Ticket]) -> int:
    return sum(t.count for t in combo)


def _trim(combo: list[Ticket], remainder: int) -> list[Ticket] | None:
    """Drop tickets totalling ``remainder`` players, keeping the longest-waiting ones (the newest
    set goes); None if no set of tickets (each no larger than the remainder) adds up to it.
    Nakama's comment states this intent, though its sort drops the oldest set: we follow the intent."""
    eligible = [t for t in combo if t.count <= remainder]
    options = _subsets_of_size(eligible, remainder)
    if not options:
        return None
    drop = max(options, key=lambda subset: sum(t.created_at for t in subset) / len(subset))
    dropped = {t.ticket for t in drop}
    return [t for t in combo if t.ticket not in dropped]


def _subsets_of_size(tickets: Sequence[Ticket], required: int) -> list[list[Ticket]]:
    """Every set of these tickets whose players add up to exactly ``required`` (Nakama's groupIndexes)."""
    if not tickets or required <= 0:
        return []
    current, others = tickets[0], tickets[1:]
    results: list[list[Ticket]] = []
    if current.count == required:
        results.append([current])
    elif current.count < required:
        results.extend([*subset, current] for subset in _subsets_of_size(others, required - current.count))
    results.extend(_subsets_of_size(others, required))
    return results
