"""Firing the runtime's tournament end and reset hooks once per moment, across processes.

The leaderboard reset scheduler's machinery, pointed at tournaments: every process
looks for due moments (a period stops being active: end hook; its records expire:
reset hook), claims ``(tournament, moment)`` in ``nakama_py_leaderboard_reset`` (one
insert wins), runs the hooks under a renewed lease and marks the claim done; a claim
whose process died is taken over after its lease. Nothing is claimed while no
tournament hook is registered.
"""

from __future__ import annotations

from typing import Any

from nakama_py.core.leaderboard_types import Leaderboard
from nakama_py.core.leaderboards import LeaderboardService, ResetHandler
from nakama_py.core.tournaments import TournamentService
from nakama_py.db.pool import Database
from nakama_py.scheduler.leaderboard_resets import ResetScheduler


class TournamentScheduler(ResetScheduler):
    refreshes_boards = False  # the leaderboard reset scheduler of the process already does

    def __init__(self, db: Database, leaderboards: LeaderboardService, tournaments: TournamentService,
                 **options: Any) -> None:
        super().__init__(db, leaderboards, **options)
        self.tournaments = tournaments

    def _handler(self) -> ResetHandler | None:
        return self.tournaments.fire if self.tournaments.has_hooks else None

    def _scheduled(self) -> list[Leaderboard]:
        return [board for board in self.leaderboards.boards() if board.tournament is not None]

    def _next_moment(self, board: Leaderboard, now: float) -> int:
        return self.tournaments.next_moment(board, now)

    def _moments(self, board: Leaderboard, after: int, until: float, limit: int) -> list[int]:
        return self.tournaments.moments(board, after, until, limit)
