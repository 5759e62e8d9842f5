"""One party's state and rules (Nakama's party handler), on the process that holds the party.

Members are presences on the party's stream, kept in join order (the oldest takes over when the
leader leaves); a closed party keeps join requests until the leader accepts or removes them.
Every method is synchronous: the process's event loop is the party's lock, and what must be sent
or done as a result is returned to the caller (``core/parties.py``), which does it in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nakama_py.core.presence import Presence, PresenceMeta, Stream, StreamMode
from nakama_py.errors import Code, NakamaError
from nakama_py.proto import realtime_pb2 as rt

MAX_SIZE_LIMIT = 256
# An admitted session whose join never reaches the party (its socket closed first) frees its place after this.
RESERVATION_SEC = 10.0
LABEL_MAX_BYTES = 2048


class PartyError(NakamaError):
    """A party rule refused the call; the message is Nakama's runtime error text."""

    def __init__(self, message: str) -> None:
        super().__init__(message, Code.INVALID_ARGUMENT)


# Nakama's runtime errors (nakama-common runtime.go), raised by the rules below.
NOT_FOUND = "party not found"
CLOSED = "party closed"
FULL = "party full"
REQUEST_DUPLICATE = "party join request duplicate"
REQUEST_ALREADY_MEMBER = "party join request already member"
REQUESTS_FULL = "party join requests full"
NOT_LEADER = "party leader only"
NOT_MEMBER = "party member not found"
NOT_REQUEST = "party join request not found"
ACCEPT_FAILED = "party could not accept request"
REMOVE_SELF = "party cannot remove self"
LABEL_TOO_LONG = "party label too long"
HIDDEN_WITH_LABEL = "party is hidden and label is not empty, invalid operation"


def party_stream(party_uuid: str, process: str) -> Stream:
    return Stream(StreamMode.PARTY, party_uuid, "", process)


def party_id_of(stream: Stream) -> str:
    """The id clients use: ``<uuid>.<process holding the party>`` (Nakama's ``<uuid>.<node>``)."""
    return f"{stream.subject}.{stream.label}"


def user_presence(presence: Presence) -> rt.UserPresence:
    return rt.UserPresence(user_id=presence.user_id, session_id=presence.session_id,
                           username=presence.meta.username)


def same_presence(presence: Presence, wanted: rt.UserPresence) -> bool:
    """Nakama matches a presence a client names on session, user and username."""
    return (presence.session_id == wanted.session_id and presence.user_id == wanted.user_id
            and presence.meta.username == wanted.username)


@dataclass
class Party:
    stream: Stream
    open: bool
    hidden: bool
    max_size: int
    label: str
    leader: Presence | None
    members: list[Presence] = field(default_factory=list)   # in join order
    reserved: dict[str, float] = field(default_factory=dict)  # admitted sessions not yet on the stream: since
    requests: list[Presence] = field(default_factory=list)   # join requests of a closed party
    expected_leader: Presence | None = None                  # the creator, whose own join needs no `party`
    stopped: bool = False
    created_at: float = field(default_factory=time.time)
    activity: int = 1                                        # bumped by every call (the idle check)

    @classmethod
    def create(cls, stream: Stream, creator: Presence, *, open: bool, hidden: bool, max_size: int,
               label: str) -> Party:
        leader = Presence(stream, creator.user_id, creator.session_id, creator.process, creator.meta)
        return cls(stream, open, hidden, max_size, label, leader, members=[leader], expected_leader=leader)

    @property
    def id(self) -> str:
        return party_id_of(self.stream)

    def size(self) -> int:
        now = time.monotonic()
        for session, since in list(self.reserved.items()):
            if now - since > RESERVATION_SEC:
                del self.reserved[session]
        return len(self.members) + len(self.reserved)

    def _member(self, session_id: str) -> Presence | None:
        return next((m for m in self.members if m.session_id == session_id), None)

    def _check_open_call(self) -> None:
        if self.stopped:
            raise PartyError(CLOSED)
        self.activity += 1

    def _check_leader(self, session_id: str, process: str) -> Presence:
        if self.stopped:
            raise PartyError(CLOSED)
        leader = self.leader
        if leader is None or leader.session_id != session_id or leader.process != process:
            raise PartyError(NOT_LEADER)
        self.activity += 1
        return leader

    # --- joining ---------------------------------------------------------------------------------

    def join_request(self, presence: Presence) -> bool:
        """True when the party is open and admits the presence (its process then tracks it, and it is a
        member once that join arrives); False when a closed party queued the request for the leader."""
        self._check_open_call()
        if self.size() >= self.max_size:
            raise PartyError(FULL)
        if self.open:
            if self._member(presence.session_id) is None:
                self.reserved[presence.session_id] = time.monotonic()
            return True
        if len(self.requests) >= self.max_size:
            raise PartyError(REQUESTS_FULL)
        if any(r.user_id == presence.user_id for r in self.requests):
            raise PartyError(REQUEST_DUPLICATE)
        if any(m.user_id == presence.user_id for m in self.members):
            raise PartyError(REQUEST_ALREADY_MEMBER)
        self.requests.append(presence)
        return False

    def accept(self, session_id: str, process: str, wanted: rt.UserPresence) -> Presence:
        """The requester to put on the party stream (reserved until its join arrives)."""
        self._check_leader(session_id, process)
        if self.size() >= self.max_size:
            raise PartyError(FULL)
        request = next((r for r in self.requests if same_presence(r, wanted)), None)
        if request is None:
            raise PartyError(NOT_REQUEST)
        self.requests.remove(request)
        self.reserved[request.session_id] = time.monotonic()
        return request

    def release(self, presence: Presence) -> None:
        self.reserved.pop(presence.session_id, None)

    def joined(self, presences: list[Presence]) -> list[Presence]:
        """Presences arrived on the stream: the new members, who must be sent the ``party`` message (not the
        creator, who had it as the reply to the create; nor a member the tracker reports again)."""
        if self.stopped:
            return []
        self.activity += 1
        told: list[Presence] = []
        for presence in presences:
            admitted = presence.session_id in self.reserved
            self.reserved.pop(presence.session_id, None)
            known = self._member(presence.session_id) is not None
            if not known:
                self.members.append(presence)
            if self.leader is None:
                self.leader = presence
            if self.expected_leader is not None and presence.session_id == self.expected_leader.session_id:
                self.expected_leader = None
            elif admitted or not known:
                told.append(presence)
        return told

    def party_message(self, presence: Presence) -> rt.Envelope:
        envelope = rt.Envelope()
        party = envelope.party
        party.party_id = self.id
        party.open = self.open
        party.hidden = self.hidden
        party.max_size = self.max_size
        party.label = self.label
        party.self.CopyFrom(user_presence(presence))
        if self.leader is not None:
            party.leader.CopyFrom(user_presence(self.leader))
        party.presences.extend(user_presence(m) for m in self.members)
        return envelope

    # --- leaving ---------------------------------------------------------------------------------

    def left(self, presences: list[Presence]) -> tuple[bool, rt.Envelope | None]:
        """Presences gone from the stream: (any member left, the ``party_leader`` message when the
        leader left and the oldest member took over). With no member left the party stops."""
        if self.stopped:
            return False, None
        self.activity += 1
        gone = {p.session_id for p in presences}
        for session in gone:
            self.reserved.pop(session, None)
        before = len(self.members)
        self.members = [m for m in self.members if m.session_id not in gone]
        if len(self.members) == before:
            return False, None
        if self.leader is None or self.leader.session_id not in gone:
            return True, None
        if not self.members:
            self.leader = None
            self.stopped = True
            return True, None
        self.leader = self.members[0]
        return True, self.leader_message()

    def leader_message(self) -> rt.Envelope:
        envelope = rt.Envelope()
        envelope.party_leader.party_id = self.id
        if self.leader is not None:
            envelope.party_leader.presence.CopyFrom(user_presence(self.leader))
        return envelope

    def promote(self, session_id: str, process: str, wanted: rt.UserPresence) -> rt.Envelope:
        self._check_leader(session_id, process)
        member = next((m for m in self.members if same_presence(m, wanted)), None)
        if member is None:
            raise PartyError(NOT_MEMBER)
        self.leader = member
        return self.leader_message()

    def remove(self, session_id: str, process: str, wanted: rt.UserPresence) -> Presence | None:
        """The member to take off the stream, or None when a pending join request was refused."""
        leader = self._check_leader(session_id, process)
        if same_presence(leader, wanted):
            raise PartyError(REMOVE_SELF)
        member = next((m for m in self.members if same_presence(m, wanted)), None)
        if member is None:
            request = next((r for r in self.requests if same_presence(r, wanted)), None)
            if request is None:
                raise PartyError(NOT_MEMBER)
            self.requests.remove(request)
            return None
        self.members.remove(member)
        return member

    def close(self, session_id: str, process: str) -> None:
        self._check_leader(session_id, process)
        self.stopped = True

    def join_requests(self, session_id: str, process: str) -> list[Presence]:
        self._check_leader(session_id, process)
        return list(self.requests)

    # --- leader-only features and data -----------------------------------------------------------

    def matchmaker_members(self, session_id: str, process: str) -> tuple[list[Presence], list[Presence]]:
        """(every member, the members other than the leader) for a party matchmaker ticket."""
        leader = self._check_leader(session_id, process)
        return list(self.members), [m for m in self.members if m.session_id != leader.session_id]

    def check_leader(self, session_id: str, process: str) -> None:
        self._check_leader(session_id, process)

    def data(self, session_id: str, process: str, op_code: int, data: bytes) -> tuple[list[Presence], rt.Envelope]:
        """The recipients (every other member) and the ``party_data`` message."""
        if self.stopped:
            raise PartyError(CLOSED)
        sender = next((m for m in self.members if m.session_id == session_id and m.process == process), None)
        if sender is None:
            raise PartyError(NOT_MEMBER)
        self.activity += 1
        envelope = rt.Envelope()
        message = envelope.party_data
        message.party_id = self.id
        message.presence.CopyFrom(user_presence(sender))
        message.op_code = op_code
        message.data = data
        return [m for m in self.members if m is not sender], envelope

    def update(self, session_id: str, process: str, label: str, open: bool, hidden: bool) -> rt.Envelope:
        self._check_leader(session_id, process)
        self.label, self.open, self.hidden = label, open, hidden
        envelope = rt.Envelope()
        envelope.party_update.party_id = self.id
        envelope.party_update.label = label
        envelope.party_update.open = open
        envelope.party_update.hidden = hidden
        return envelope


def make_presence(stream: Stream, user_id: str, session_id: str, process: str, username: str) -> Presence:
    return Presence(stream, user_id, session_id, process, PresenceMeta(username))
