"""What a matchmaker request must say: Nakama's count checks, shared by ``matchmaker_add`` and
``party_matchmaker_add`` (the messages are Nakama's socket errors)."""

from __future__ import annotations

from nakama_py.errors import invalid_argument

MIN_COUNT = 2
MATCH_ALL = "*"


def check_counts(min_count: int, max_count: int, count_multiple: int | None) -> int:
    """Refuse impossible counts; the count multiple to use (1 when none was given)."""
    if min_count < MIN_COUNT:
        raise invalid_argument("Invalid minimum count, must be >= 2")
    if max_count < min_count:
        raise invalid_argument("Invalid maximum count, must be >= minimum count")
    if count_multiple is None:
        return 1
    if count_multiple < 1:
        raise invalid_argument("Invalid count multiple, must be >= 1")
    if min_count % count_multiple != 0:
        raise invalid_argument("Invalid count multiple for minimum count, must divide")
    if max_count % count_multiple != 0:
        raise invalid_argument("Invalid count multiple for maximum count, must divide")
    return count_multiple


def query_or_all(query: str) -> str:
    """An empty query means every ticket, as in Nakama."""
    return query or MATCH_ALL
