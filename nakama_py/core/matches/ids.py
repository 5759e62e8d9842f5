"""Match ids as Nakama writes them: ``"<uuid>.<node>"``. A relayed match has no node
(``"<uuid>."``); an authoritative match names the process hosting it (its bus process id, so
any process knows where to send the match's calls).
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

from nakama_py.core.presence import Stream, StreamMode


class MatchId(NamedTuple):
    uuid: str       # canonical lower-case form
    node: str       # "" for a relayed match

    @property
    def authoritative(self) -> bool:
        return self.node != ""

    def __str__(self) -> str:
        return f"{self.uuid}.{self.node}"

    @property
    def stream(self) -> Stream:
        if self.node:
            return Stream(StreamMode.MATCH_AUTHORITATIVE, self.uuid, "", self.node)
        return Stream(StreamMode.MATCH_RELAYED, self.uuid)


def parse(text: str) -> MatchId | None:
    """The id's parts, or None when it is not ``<uuid>.<node>``."""
    head, dot, node = text.partition(".")
    if not dot:
        return None
    try:
        return MatchId(str(uuid.UUID(head)), node)
    except ValueError:
        return None


def from_stream(stream: Stream) -> MatchId:
    return MatchId(stream.subject, stream.label)


def new_relayed(name: str = "") -> MatchId:
    """A random id, or with a name the one id Nakama derives from it (UUIDv5 in the DNS namespace),
    so every client creating the match by that name lands in the same one."""
    value = uuid.uuid5(uuid.NAMESPACE_DNS, name) if name else uuid.uuid4()
    return MatchId(str(value), "")


def new_authoritative(process: str) -> MatchId:
    return MatchId(str(uuid.uuid4()), process)
