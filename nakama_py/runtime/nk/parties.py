"""``nk.party_list``: the parties of every process, as Nakama's PartyList (a query over party labels)."""

from __future__ import annotations

from typing import Any

from nakama_py.core.parties import PartyService
from nakama_py.core.party_listing import PartyListError
from nakama_py.errors import invalid_argument
from nakama_py.runtime.call_scope import tracked


class PartyCalls:
    _parties: PartyService

    @tracked
    async def party_list(self, limit: int = 10, open: bool | None = None, show_hidden: bool = False,
                         query: str = "", cursor: str = "") -> tuple[list[dict[str, Any]], str]:
        """(parties as ``{"party_id", "open", "hidden", "max_size", "label"}``, the next page's cursor or "")."""
        if not 1 <= limit <= 100:
            raise invalid_argument("limit must be 1-100")
        try:
            parties, next_cursor = await self._parties.list_parties(limit, open=open, show_hidden=show_hidden,
                                                                    query=query, cursor=cursor)
        except PartyListError as exc:
            raise invalid_argument(str(exc)) from None
        return [party.to_dict() for party in parties], next_cursor
