"""Listing matches (``GET /v2/match``, ``nk.match_list``) and reading one (``nk.match_get``), with
Nakama's filters: a query over labels (best score first, then newest), an exact label, the
authoritative flag, size bounds. Authoritative matches come from the cluster-wide index, their
sizes from the tracker; relayed matches (no label) are the tracker's relayed match streams.
"""

from __future__ import annotations

from nakama_py.core.matches import ids
from nakama_py.core.matches.index import IndexEntry, MatchIndex
from nakama_py.core.matches.types import MatchListing
from nakama_py.core.presence import StreamMode
from nakama_py.core.query import QuerySyntaxError, parse_query
from nakama_py.core.tracker import Tracker
from nakama_py.errors import Code, NakamaError, invalid_argument

LIMIT_DEFAULT = 10


def check_list_request(limit: int | None, authoritative: bool | None, label: str | None, min_size: int | None,
                       max_size: int | None, query: str | None) -> int:
    """Nakama's argument checks of ListMatches; the limit to use."""
    if limit is not None and not 1 <= limit <= 100:
        raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
    if label is not None and authoritative is False:
        raise invalid_argument("Label filtering is not supported for non-authoritative matches.")
    if query is not None and authoritative is False:
        raise invalid_argument("Query filtering is not supported for non-authoritative matches.")
    if min_size is not None and min_size < 0:
        raise invalid_argument("Minimum size must be 0 or above.")
    if max_size is not None and max_size < 0:
        raise invalid_argument("Maximum size must be 0 or above.")
    if min_size is not None and max_size is not None and min_size > max_size:
        raise invalid_argument("Maximum size must be greater than or equal to minimum size when both are specified.")
    return LIMIT_DEFAULT if limit is None else limit


class MatchListings:
    def __init__(self, index: MatchIndex, tracker: Tracker) -> None:
        self._index = index
        self._tracker = tracker

    def _size(self, match_id: str) -> int:
        parsed = ids.parse(match_id)
        return self._tracker.member_count(parsed.stream) if parsed is not None else 0

    def _listing(self, entry: IndexEntry, size: int) -> MatchListing:
        return MatchListing(entry.match_id, True, entry.label, size, entry.tick_rate, entry.handler_name)

    def get(self, match_id: str) -> MatchListing | None:
        parsed = ids.parse(match_id)
        if parsed is None:
            raise invalid_argument("match id invalid")
        if not parsed.authoritative:
            size = self._tracker.member_count(parsed.stream)
            return MatchListing(str(parsed), False, None, size, 0, "") if size else None
        entry = self._index.get(str(parsed))
        return self._listing(entry, self._size(entry.match_id)) if entry is not None else None

    def list(self, limit: int, authoritative: bool | None = None, label: str | None = None,
             min_size: int | None = None, max_size: int | None = None, query: str | None = None) -> list[MatchListing]:
        if limit <= 0:
            return []
        candidates: list[IndexEntry] | None = None
        allow_relayed = False
        if query is not None:
            if authoritative is False:
                return []
            entries = list(self._index.entries.values())
            if query.strip():
                try:
                    parsed = parse_query(query)
                except QuerySyntaxError as exc:
                    # Nakama logs the parse error and answers an internal error.
                    raise NakamaError("Error listing matches.", Code.INTERNAL) from exc
                scored = [(parsed.score(e.document), e) for e in entries if parsed.matches(e.document)]
                scored.sort(key=lambda item: (-item[0], -item[1].create_time))
                candidates = [entry for _score, entry in scored]
            else:
                candidates = sorted(entries, key=lambda e: -e.create_time)
        elif label is not None:
            if authoritative is False:
                return []
            candidates = sorted((e for e in self._index.entries.values() if e.label == label),
                                key=lambda e: -e.create_time)
        elif authoritative is None or authoritative:
            candidates = sorted(self._index.entries.values(), key=lambda e: -e.create_time)
            allow_relayed = authoritative is None
        else:
            allow_relayed = True

        results: list[MatchListing] = []
        for entry in candidates or ():
            size = self._size(entry.match_id)
            if (min_size is not None and size < min_size) or (max_size is not None and size > max_size):
                continue
            results.append(self._listing(entry, size))
            if len(results) == limit:
                return results
        if not allow_relayed:
            return results
        for stream in self._tracker.streams(StreamMode.MATCH_RELAYED):
            size = self._tracker.member_count(stream)
            if (min_size is not None and size < min_size) or (max_size is not None and size > max_size):
                continue
            results.append(MatchListing(str(ids.from_stream(stream)), False, label, size, 0, ""))
            if len(results) == limit:
                break
        return results
