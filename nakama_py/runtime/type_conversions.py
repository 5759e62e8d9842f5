"""Server values to the runtime's own types (runtime/types.py), at the ``nk`` boundary."""

from __future__ import annotations

from nakama_py.core import leaderboard_types as server
from nakama_py.runtime.types import Leaderboard


def leaderboard(board: server.Leaderboard) -> Leaderboard:
    return Leaderboard(board.id, board.authoritative, board.sort_order.label, board.operator.label,
                       board.reset_schedule, board.metadata, board.create_time, board.enable_ranks,
                       board.prev_reset(), board.next_reset())
