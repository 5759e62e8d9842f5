"""``nk.match_*``: authoritative matches from module code. ``match_create`` starts one on this
process with a registered handler; ``match_get``/``match_list`` read the cluster-wide index (every
process's matches); ``match_signal`` reaches the match on whichever process runs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nakama_py.core.matches.listing import MatchListings
from nakama_py.core.matches.registry import MatchRegistry
from nakama_py.core.matches.types import MatchListing
from nakama_py.errors import invalid_argument
from nakama_py.runtime.call_scope import tracked


class MatchCalls:
    _match_registry: MatchRegistry
    _match_listings: MatchListings

    @tracked
    async def match_create(self, module: str, params: Mapping[str, Any] | None = None) -> str:
        """Start a match with the handler registered as ``module``; its id (``"<uuid>.<node>"``)."""
        if not isinstance(module, str) or not module:
            raise invalid_argument("expects module name")
        return await self._match_registry.create(module, params or {})

    def match_get(self, match_id: str) -> MatchListing | None:
        """The running match, None when there is none with this id."""
        return self._match_listings.get(match_id)

    def match_list(self, limit: int = 1, authoritative: bool | None = None, label: str | None = None,
                   min_size: int | None = None, max_size: int | None = None,
                   query: str | None = None) -> list[MatchListing]:
        """Matches of the whole cluster, with Nakama's filters (``query`` in its query syntax over labels)."""
        if not isinstance(limit, int) or limit < 0 or limit > 100:
            raise invalid_argument("expects limit to be 0-100")
        return self._match_listings.list(limit, authoritative, label, min_size, max_size, query)

    @tracked
    async def match_signal(self, match_id: str, data: str) -> str:
        """Call the match's ``match_signal`` and answer its result; ``MatchNotFound``, ``MatchBusy``."""
        return await self._match_registry.signal(match_id, data)
