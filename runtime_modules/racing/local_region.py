"""A region whose board lives in this cluster's database: every read from the server's rank memory
(``nk.leaderboard_top``/``_rank``/``_rank_if``), kept coherent across processes by the rank sync."""

from __future__ import annotations

from nakama_py.runtime import NakamaModule

from .cycles import Cycles
from .regions import Standing


class LocalRegion:
    def __init__(self, nk: NakamaModule, name: str, board: str, cycles: Cycles) -> None:
        self._nk = nk
        self._name = name
        self.board = board
        self._cycles = cycles

    @property
    def name(self) -> str:
        return self._name

    async def top(self, cycle: int, n: int) -> list[Standing]:
        top = await self._nk.leaderboard_top(self.board, n, self._cycles.end(cycle))
        return [Standing(e.rank, e.owner_id, e.username or "", e.score, e.subscore) for e in top.entries]

    async def count(self, cycle: int) -> int:
        return (await self._nk.leaderboard_top(self.board, 0, self._cycles.end(cycle))).total

    async def rank_of(self, cycle: int, user_id: str) -> Standing | None:
        entry = await self._nk.leaderboard_rank(self.board, user_id, self._cycles.end(cycle))
        if entry is None:
            return None
        return Standing(entry.rank, user_id, entry.username or "", entry.score, entry.subscore)

    async def better_than(self, cycle: int, score: int, subscore: int, user_id: str) -> int:
        return await self._nk.leaderboard_rank_if(self.board, user_id, score, subscore, self._cycles.end(cycle)) - 1
