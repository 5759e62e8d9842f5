"""Streams and presences: who is connected where, in Nakama's terms.

A stream is a (mode, subject, subcontext, label) address; a presence is one socket session's
membership of one stream. Every socket is on its user's notification stream; status, chat
channels and runtime streams are further streams. Mode numbers are Nakama's (``StreamMode*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from nakama_py.proto import realtime_pb2 as rt


class StreamMode(IntEnum):
    NOTIFICATIONS = 0
    STATUS = 1
    CHANNEL = 2
    GROUP = 3
    DM = 4
    MATCH_RELAYED = 5
    MATCH_AUTHORITATIVE = 6
    PARTY = 7


@dataclass(frozen=True, slots=True)
class Stream:
    mode: int
    subject: str = ""
    subcontext: str = ""
    label: str = ""

    def to_proto(self) -> rt.Stream:
        return rt.Stream(mode=self.mode, subject=self.subject, subcontext=self.subcontext, label=self.label)


@dataclass(frozen=True, slots=True)
class PresenceMeta:
    username: str
    hidden: bool = False        # left out of listings and presence events
    persistence: bool = False   # chat: messages sent by this presence are stored
    status: str = ""


@dataclass(frozen=True, slots=True)
class Presence:
    stream: Stream
    user_id: str
    session_id: str
    process: str                # the server process holding the session (cluster bus process id)
    meta: PresenceMeta

    @property
    def key(self) -> tuple[Stream, str]:
        return self.stream, self.session_id

    def to_proto(self) -> rt.UserPresence:
        message = rt.UserPresence(user_id=self.user_id, session_id=self.session_id, username=self.meta.username,
                                  persistence=self.meta.persistence)
        if self.stream.mode == StreamMode.STATUS:
            message.status.value = self.meta.status
        return message


def notification_stream(user_id: str) -> Stream:
    return Stream(StreamMode.NOTIFICATIONS, user_id)


def status_stream(user_id: str) -> Stream:
    return Stream(StreamMode.STATUS, user_id)
