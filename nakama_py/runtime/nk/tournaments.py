"""``nk.tournament_*`` and ``nk.tournaments_*``: tournaments, joins, attempts and their records.

Like ``nk.leaderboard_*`` reads, the record reads first wait until this process has applied the
latest leaderboard writes of the call's session user (runtime/nk/leaderboards.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nakama_py.core.tournaments import TournamentService
from nakama_py.runtime.call_scope import CURRENT, tracked
from nakama_py.runtime.nk.leaderboards import _override

if TYPE_CHECKING:
    from nakama_py.core.leaderboards import LeaderboardService
    from nakama_py.runtime.types import LeaderboardRecord, RecordList, Tournament


class TournamentCalls:
    _tournaments: TournamentService
    _leaderboards: LeaderboardService

    async def _catch_up(self) -> None:
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)
            scope.catch_up_for = None

    @tracked
    async def tournament_create(self, id: str, authoritative: bool = True, sort_order: str | int = "desc",
                                operator: str | int = "best", reset_schedule: str | None = None,
                                metadata: Mapping[str, Any] | None = None, title: str = "", description: str = "",
                                category: int = 0, start_time: int = 0, end_time: int = 0, duration: int = 0,
                                max_size: int = 0, max_num_score: int = 0, join_required: bool = False,
                                enable_ranks: bool = True) -> Tournament:
        """Create a tournament (or return the existing one). Times are unix seconds; ``duration`` (> 0) is
        how long each period takes scores; ``max_size``/``max_num_score`` 0 mean unlimited."""
        return await self._tournaments.create(
            id, authoritative=authoritative, sort_order=sort_order, operator=operator,
            reset_schedule=reset_schedule or None, metadata=metadata, title=title, description=description,
            category=category, start_time=start_time, end_time=end_time, duration=duration, max_size=max_size,
            max_num_score=max_num_score, join_required=join_required, enable_ranks=enable_ranks)

    @tracked
    async def tournament_delete(self, id: str) -> None:
        await self._tournaments.delete(id)

    @tracked
    async def tournaments_get_id(self, ids: Sequence[str]) -> list[Tournament]:
        return await self._tournaments.get(list(ids))

    @tracked
    async def tournament_list(self, category_start: int = 0, category_end: int = 127, start_time: int = -1,
                              end_time: int = -1, limit: int = 10,
                              cursor: str | None = None) -> tuple[list[Tournament], str | None]:
        return await self._tournaments.list(category_start=category_start, category_end=category_end,
                                            start_time=start_time, end_time=end_time, limit=limit,
                                            cursor=cursor or None)

    @tracked
    async def tournament_join(self, id: str, owner_id: str, username: str | None = None) -> None:
        await self._tournaments.join(id, owner_id, username)

    @tracked
    async def tournament_record_write(self, id: str, owner_id: str, username: str | None = None, score: int = 0,
                                      subscore: int = 0, metadata: Mapping[str, Any] | None = None,
                                      override_operator: int | str | None = None) -> LeaderboardRecord:
        return await self._tournaments.write_record(
            id, owner_id, username=username, score=score, subscore=subscore, metadata=metadata,
            override_operator=_override(override_operator))

    @tracked
    async def tournament_record_delete(self, id: str, owner_id: str) -> None:
        await self._tournaments.delete_record(id, owner_id)

    @tracked
    async def tournament_add_attempt(self, id: str, owner_id: str, count: int) -> None:
        """Give the owner ``count`` more attempts (``max_num_score``) in the current period."""
        await self._tournaments.add_attempts(id, owner_id, count)

    @tracked
    async def tournament_records_list(self, id: str, owner_ids: Sequence[str] | None = None, limit: int = 100,
                                      cursor: str | None = None, expiry: int = 0) -> RecordList:
        await self._catch_up()
        return await self._tournaments.list_records(
            id, owner_ids=list(owner_ids) if owner_ids is not None else None, limit=limit, cursor=cursor or None,
            expiry=expiry)

    @tracked
    async def tournament_records_haystack(self, id: str, owner_id: str, limit: int = 10, cursor: str | None = None,
                                          expiry: int = 0) -> RecordList:
        await self._catch_up()
        return await self._tournaments.haystack(id, owner_id, limit=limit, cursor=cursor or None, expiry=expiry)
