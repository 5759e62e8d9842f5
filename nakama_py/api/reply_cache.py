"""The rendered JSON of replies the core hands back again unchanged.

The core keeps a reply while what it shows is unchanged (core/leaderboard_memory.py: the same
``RecordList`` object until the bucket's next change), so its bytes can be kept too, by that
object's identity. Each entry holds the object itself, so its id cannot be reused while kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
CAP = 64


class RenderedReplies:
    def __init__(self, cap: int = CAP) -> None:
        self.cap = cap
        self._bodies: dict[int, tuple[object, bytes]] = {}

    def body(self, reply: T, render: Callable[[T], bytes]) -> bytes:
        kept = self._bodies.get(id(reply))
        if kept is not None and kept[0] is reply:
            return kept[1]
        body = render(reply)
        if len(self._bodies) >= self.cap:
            del self._bodies[next(iter(self._bodies))]  # the oldest
        self._bodies[id(reply)] = (reply, body)
        return body
