"""The rules of one party (core/party.py), without sockets: sizes with reservations, requests,
the lead handed to the oldest member, and what each refusal says."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest

from nakama_py.core import party as rules
from nakama_py.core.party import Party, PartyError, make_presence, party_stream
from nakama_py.core.presence import Presence
from nakama_py.proto.realtime_pb2 import UserPresence

STREAM = party_stream("6f1c2d4e-0a4b-4b8e-9c55-2f1d3c4b5a69", "node-a-1234")


def member(n: int, process: str = "node-a-1234") -> Presence:
    return make_presence(STREAM, f"user-{n}", f"session-{n}", process, f"name{n}")


def wire(presence: Presence) -> UserPresence:
    return rules.user_presence(presence)


def party(*, open: bool, max_size: int = 3) -> Party:
    created = Party.create(STREAM, member(0), open=open, hidden=False, max_size=max_size, label="")
    assert created.joined([member(0)]) == []  # the creator had the create's reply, no `party` message
    return created


def refused(message: str) -> AbstractContextManager[pytest.ExceptionInfo[PartyError]]:
    return pytest.raises(PartyError, match=f"^{message}$")


def test_an_open_party_fills_up_and_a_closed_one_queues_requests() -> None:
    open_party = party(open=True, max_size=2)
    assert open_party.join_request(member(1)) is True
    with refused(rules.FULL):
        open_party.join_request(member(2))
    closed = party(open=False, max_size=2)
    assert closed.join_request(member(1)) is False
    with refused(rules.REQUEST_DUPLICATE):
        closed.join_request(member(1, "node-b-5678"))  # the same user from another socket
    assert closed.join_request(member(2)) is False
    with refused(rules.REQUESTS_FULL):
        closed.join_request(member(3))


def test_an_accepted_request_holds_its_place_until_its_join_arrives() -> None:
    closed = party(open=False, max_size=2)
    closed.join_request(member(1))
    closed.join_request(member(2))
    accepted = closed.accept("session-0", "node-a-1234", wire(member(1)))
    assert accepted == member(1) and closed.size() == 2
    with refused(rules.FULL):
        closed.accept("session-0", "node-a-1234", wire(member(2)))
    told = closed.joined([member(1)])
    assert told == [member(1)] and closed.size() == 2 and closed.reserved == {}
    message = closed.party_message(member(1)).party
    assert [p.user_id for p in message.presences] == ["user-0", "user-1"] and message.leader.user_id == "user-0"


def test_only_the_leader_of_the_right_process_leads() -> None:
    closed = party(open=False)
    closed.join_request(member(1))
    with refused(rules.NOT_LEADER):
        closed.accept("session-0", "node-b-5678", wire(member(1)))  # same session id, another process
    with refused(rules.NOT_LEADER):
        closed.join_requests("session-1", "node-a-1234")
    with refused(rules.NOT_REQUEST):
        closed.accept("session-0", "node-a-1234", wire(member(5)))


def test_the_oldest_member_takes_over_and_the_last_one_out_ends_the_party() -> None:
    open_party = party(open=True)
    for n in (1, 2):
        open_party.join_request(member(n))
        open_party.joined([member(n)])
    changed, leader = open_party.left([member(0)])
    assert changed and leader is not None and leader.party_leader.presence.user_id == "user-1"
    assert open_party.left([member(0)]) == (False, None)  # a leave already applied changes nothing
    changed, leader = open_party.left([member(2)])
    assert changed and leader is None and not open_party.stopped
    changed, leader = open_party.left([member(1)])
    assert changed and open_party.stopped and open_party.leader is None
    with refused(rules.CLOSED):
        open_party.join_request(member(3))


def test_remove_refuses_self_and_strangers_and_drops_requests() -> None:
    closed = party(open=False)
    closed.join_request(member(1))
    assert closed.remove("session-0", "node-a-1234", wire(member(1))) is None
    assert closed.requests == []
    with refused(rules.REMOVE_SELF):
        closed.remove("session-0", "node-a-1234", wire(member(0)))
    with refused(rules.NOT_MEMBER):
        closed.remove("session-0", "node-a-1234", wire(member(1)))


def test_data_goes_to_the_other_members_only() -> None:
    open_party = party(open=True)
    open_party.join_request(member(1))
    with refused(rules.NOT_MEMBER):  # admitted, but not a member until its join reaches the party
        open_party.data("session-1", "node-a-1234", 4, b"go")
    assert open_party.joined([member(1)]) == [member(1)]
    assert open_party.joined([member(1)]) == []  # a join reported again is not a new member
    recipients, envelope = open_party.data("session-1", "node-a-1234", 4, b"go")
    assert recipients == [member(0)]
    assert envelope.party_data.presence.user_id == "user-1" and envelope.party_data.data == b"go"
    with refused(rules.NOT_MEMBER):
        open_party.data("session-9", "node-a-1234", 4, b"go")


def test_a_place_held_for_a_join_that_never_arrives_is_freed(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("nakama_py.core.party.time.monotonic", lambda: clock[0])
    open_party = party(open=True, max_size=2)
    assert open_party.join_request(member(1)) is True  # its socket closes before it is tracked
    with refused(rules.FULL):
        open_party.join_request(member(2))
    clock[0] += rules.RESERVATION_SEC + 1
    assert open_party.join_request(member(2)) is True
