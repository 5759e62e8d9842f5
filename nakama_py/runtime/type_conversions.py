"""Server values to the runtime's own types (runtime/types.py), at the ``nk`` boundary."""

from __future__ import annotations

from nakama_py.core import leaderboard_types as server
from nakama_py.runtime.types import Leaderboard, Operator, SortOrder

_SORT_ORDERS: dict[int, SortOrder] = {server.ASCENDING: "asc", server.DESCENDING: "desc"}
_OPERATORS: dict[int, Operator] = {server.BEST: "best", server.SET: "set", server.INCREMENT: "incr",
                                   server.DECREMENT: "decr"}


def leaderboard(board: server.Leaderboard) -> Leaderboard:
    return Leaderboard(board.id, board.authoritative, _SORT_ORDERS[board.sort_order], _OPERATORS[board.operator],
                       board.reset_schedule, board.metadata, board.create_time, board.enable_ranks,
                       board.prev_reset(), board.next_reset())
