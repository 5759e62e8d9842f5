"""Parties on the socket, as Nakama clients see them: every rule of create, join (open and closed),
accept, remove, promote, leave, close, data, update and the party matchmaker's checks, with
Nakama's errors."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.state import ServerState, build_state
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

Client = TestClient[web.Request, web.Application]
BAD_INPUT = 3


async def connect(client: Client, state: ServerState) -> tuple[TestUser, JsonSocket]:
    user = await create_user(state)
    return user, JsonSocket(await client.ws_connect(f"/ws?token={user.token}"))


def error(reply: dict[str, Any]) -> tuple[int, str]:
    assert "error" in reply, reply
    return reply["error"]["code"], reply["error"]["message"]


async def no_tickets(state: ServerState, party_id: str) -> None:
    """Wait (2 s at most) for the party's tickets to be gone: removals go out after the reply."""
    for _ in range(40):
        if not state.matchmaker.pool.of_party(party_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"party {party_id} still has tickets")


def presence(user: TestUser, party: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in party["presences"] if p["user_id"] == user.user_id)


async def create(socket: JsonSocket, open: bool, max_size: int = 3, **extra: Any) -> dict[str, Any]:
    reply = await socket.request({"party_create": {"open": open, "max_size": max_size, **extra}})
    assert "party" in reply, reply
    await socket.pushed_with("party_presence_event")  # the creator's own join
    return reply["party"]  # type: ignore[no-any-return]


async def open_party_with_member(leader: JsonSocket, member: JsonSocket) -> dict[str, Any]:
    """The ``party`` message the member received on joining."""
    party = await create(leader, True)
    assert await member.request({"party_join": {"party_id": party["party_id"]}}) == {}
    joined = await member.pushed_with("party")
    await leader.pushed_with("party_presence_event")
    return joined


async def closed_party_with_member(leader: JsonSocket, member: JsonSocket) -> dict[str, Any]:
    party = await create(leader, False)
    assert await member.request({"party_join": {"party_id": party["party_id"]}}) == {}
    request = await leader.pushed_with("party_join_request")
    assert await leader.request({"party_accept": {"party_id": party["party_id"],
                                                   "presence": request["presences"][0]}}) == {}
    joined = await member.pushed_with("party")
    await leader.pushed_with("party_presence_event")
    return joined


async def test_create_replies_with_the_party_and_a_presence_event(client: Client, state: ServerState) -> None:
    alice, socket = await connect(client, state)
    reply = await socket.request({"party_create": {"open": True, "max_size": 4, "label": '{"mode":"duo"}'}})
    party = reply["party"]
    assert socket.pushed == []  # the reply comes before the presence event the create causes
    assert party["party_id"].endswith("." + state.bus.process)
    assert party["open"] is True and party["max_size"] == 4 and party["label"] == '{"mode":"duo"}'
    assert party["leader"] == party["self"] == party["presences"][0]
    assert party["self"]["user_id"] == alice.user_id and party["self"]["username"] == alice.username
    event = await socket.pushed_with("party_presence_event")
    assert event["party_id"] == party["party_id"]
    assert [p["user_id"] for p in event["joins"]] == [alice.user_id]


@pytest.mark.parametrize("body, message", [
    ({"max_size": -1}, "Invalid party max size, must be 1-256"),
    ({"max_size": 257}, "Invalid party max size, must be 1-256"),
    ({"max_size": 2, "label": "x" * 2049}, "Error creating party: party label too long"),
    ({"max_size": 2, "label": "[1, 2]"}, "Error creating party: failed to unmarshal party label: not a JSON object"),
])
async def test_create_refusals(client: Client, state: ServerState, body: dict[str, Any], message: str) -> None:
    _, socket = await connect(client, state)
    assert error(await socket.request({"party_create": body})) == (BAD_INPUT, message)


async def test_malformed_ids_and_presences(client: Client, state: ServerState) -> None:
    _, socket = await connect(client, state)
    for party_id in ("", "nodot", "not-a-uuid.node"):
        assert error(await socket.request({"party_join": {"party_id": party_id}})) == (BAD_INPUT, "Invalid party ID")
    party = await create(socket, True)
    assert error(await socket.request({"party_promote": {"party_id": party["party_id"]}})) == (
        BAD_INPUT, "Invalid presence")
    for process in (state.bus.process, ""):
        assert error(await socket.request({"party_join": {"party_id": "4a6b2bd4-3b46-4a7c-8f77-0e8f4c6c2a11."
                                                                      + process}})) == (
            BAD_INPUT, "Error joining party: party not found")


async def test_open_party_join_and_the_max_size(client: Client, state: ServerState) -> None:
    alice, leader = await connect(client, state)
    bob, member = await connect(client, state)
    _, third = await connect(client, state)
    party = await create(leader, True, max_size=2)
    assert await member.request({"party_join": {"party_id": party["party_id"]}}) == {}
    assert member.pushed == []  # the reply first, then the party and the presence event
    joined = await member.pushed_with("party")
    assert joined["party_id"] == party["party_id"]
    assert joined["self"]["user_id"] == bob.user_id and joined["leader"]["user_id"] == alice.user_id
    assert {p["user_id"] for p in joined["presences"]} == {alice.user_id, bob.user_id}
    event = await leader.pushed_with("party_presence_event")
    assert [p["user_id"] for p in event["joins"]] == [bob.user_id]
    assert error(await third.request({"party_join": {"party_id": party["party_id"]}})) == (
        BAD_INPUT, "Error joining party: party full")


async def test_closed_party_requests_accept_and_refusals(client: Client, state: ServerState) -> None:
    alice, leader = await connect(client, state)
    bob, member = await connect(client, state)
    party = await create(leader, False, max_size=2)
    party_id = party["party_id"]
    assert await member.request({"party_join": {"party_id": party_id}}) == {}
    request = await leader.pushed_with("party_join_request")
    assert request["party_id"] == party_id and request["presences"][0]["user_id"] == bob.user_id
    assert error(await member.request({"party_join": {"party_id": party_id}})) == (
        BAD_INPUT, "Error joining party: party join request duplicate")
    assert error(await member.request({"party_join_request_list": {"party_id": party_id}})) == (
        BAD_INPUT, "Error listing party join requests: party leader only")
    listed = await leader.request({"party_join_request_list": {"party_id": party_id}})
    assert listed["party_join_request"]["presences"] == request["presences"]
    accept = {"party_accept": {"party_id": party_id, "presence": request["presences"][0]}}
    assert error(await member.request(accept)) == (BAD_INPUT, "Error accepting party join request: party leader only")
    stranger = {**request["presences"][0], "session_id": "5f0a8a4e-8d0b-4a53-9d4a-0d1a1b7f0c55"}
    assert error(await leader.request({"party_accept": {"party_id": party_id, "presence": stranger}})) == (
        BAD_INPUT, "Error accepting party join request: party join request not found")
    assert await leader.request({"party_accept": {"party_id": party_id, "presence": request["presences"][0]}}) == {}
    joined = await member.pushed_with("party")
    assert {p["user_id"] for p in joined["presences"]} == {alice.user_id, bob.user_id}
    event = await leader.pushed_with("party_presence_event")
    assert [p["user_id"] for p in event["joins"]] == [bob.user_id]
    assert error(await member.request({"party_join": {"party_id": party_id}})) == (
        BAD_INPUT, "Error joining party: party full")
    listed = await leader.request({"party_join_request_list": {"party_id": party_id}})
    assert listed["party_join_request"].get("presences", []) == []


async def test_a_member_cannot_request_again(client: Client, state: ServerState) -> None:
    _, leader = await connect(client, state)
    _, member = await connect(client, state)
    joined = await closed_party_with_member(leader, member)
    assert error(await member.request({"party_join": {"party_id": joined["party_id"]}})) == (
        BAD_INPUT, "Error joining party: party join request already member")


async def test_remove_a_member_or_refuse_a_request(client: Client, state: ServerState) -> None:
    alice, leader = await connect(client, state)
    bob, member = await connect(client, state)
    _, asker = await connect(client, state)
    joined = await closed_party_with_member(leader, member)
    party_id = joined["party_id"]
    assert error(await leader.request({"party_remove": {"party_id": party_id,
                                                         "presence": presence(alice, joined)}})) == (
        BAD_INPUT, "Error removing party member or join request: party cannot remove self")
    assert error(await member.request({"party_remove": {"party_id": party_id,
                                                         "presence": presence(alice, joined)}})) == (
        BAD_INPUT, "Error removing party member or join request: party leader only")
    # A pending request removed is a refusal.
    await asker.request({"party_join": {"party_id": party_id}})
    request = await leader.pushed_with("party_join_request")
    assert await leader.request({"party_remove": {"party_id": party_id, "presence": request["presences"][0]}}) == {}
    listed = await leader.request({"party_join_request_list": {"party_id": party_id}})
    assert listed["party_join_request"].get("presences", []) == []
    # A member removed is told the party closed for them; the others see them leave.
    assert await leader.request({"party_remove": {"party_id": party_id, "presence": presence(bob, joined)}}) == {}
    assert (await member.pushed_with("party_close"))["party_id"] == party_id
    event = await leader.pushed_with("party_presence_event")
    assert [p["user_id"] for p in event["leaves"]] == [bob.user_id]
    assert error(await member.request({"party_data_send": {"party_id": party_id, "op_code": 1}})) == (
        BAD_INPUT, "Error sending party data: party member not found")
    assert error(await leader.request({"party_remove": {"party_id": party_id, "presence": presence(bob, joined)}})) == (
        BAD_INPUT, "Error removing party member or join request: party member not found")


async def test_promote_hands_over_the_lead(client: Client, state: ServerState) -> None:
    alice, leader = await connect(client, state)
    bob, member = await connect(client, state)
    joined = await open_party_with_member(leader, member)
    party_id = joined["party_id"]
    assert error(await member.request({"party_promote": {"party_id": party_id,
                                                          "presence": presence(bob, joined)}})) == (
        BAD_INPUT, "Error promoting new party leader: party leader only")
    assert await leader.request({"party_promote": {"party_id": party_id, "presence": presence(bob, joined)}}) == {}
    for socket in (leader, member):
        message = await socket.pushed_with("party_leader")
        assert message["party_id"] == party_id and message["presence"]["user_id"] == bob.user_id
    assert error(await leader.request({"party_close": {"party_id": party_id}})) == (
        BAD_INPUT, "Error closing party: party leader only")
    not_member = {**presence(alice, joined), "session_id": "5f0a8a4e-8d0b-4a53-9d4a-0d1a1b7f0c55"}
    assert error(await member.request({"party_promote": {"party_id": party_id, "presence": not_member}})) == (
        BAD_INPUT, "Error promoting new party leader: party member not found")


async def test_the_oldest_member_leads_when_the_leader_leaves(client: Client, state: ServerState) -> None:
    _, leader = await connect(client, state)
    bob, member = await connect(client, state)
    carol, third = await connect(client, state)
    joined = await open_party_with_member(leader, member)
    party_id = joined["party_id"]
    await third.request({"party_join": {"party_id": party_id}})
    await third.pushed_with("party")
    assert await leader.request({"party_leave": {"party_id": party_id}}) == {}
    for socket in (member, third):
        message = await socket.pushed_with("party_leader")
        assert message["presence"]["user_id"] == bob.user_id
    # The new leader's socket going away hands the lead on again.
    await member.ws.close()
    message = await third.pushed_with("party_leader")
    assert message["presence"]["user_id"] == carol.user_id
    assert await third.request({"party_join_request_list": {"party_id": party_id}}) == {
        "party_join_request": {"party_id": party_id}}


async def test_the_last_member_leaving_ends_the_party(client: Client, state: ServerState) -> None:
    _, leader = await connect(client, state)
    _, other = await connect(client, state)
    party = await create(leader, True)
    assert state.parties.count() == 1
    await leader.request({"party_leave": {"party_id": party["party_id"]}})
    assert error(await other.request({"party_join": {"party_id": party["party_id"]}})) == (
        BAD_INPUT, "Error joining party: party not found")
    assert state.parties.count() == 0


async def test_party_data_reaches_the_other_members(client: Client, state: ServerState) -> None:
    alice, leader = await connect(client, state)
    _, member = await connect(client, state)
    _, outsider = await connect(client, state)
    joined = await open_party_with_member(leader, member)
    payload = base64.b64encode(b'{"hello":"world"}').decode()
    assert await leader.request({"party_data_send": {"party_id": joined["party_id"], "op_code": "7",
                                                     "data": payload}}) == {}
    data = await member.pushed_with("party_data")
    assert data["op_code"] == "7" and base64.b64decode(data["data"]) == b'{"hello":"world"}'
    assert data["presence"]["user_id"] == alice.user_id
    assert await leader.nothing_pushed("party_data")
    assert error(await outsider.request({"party_data_send": {"party_id": joined["party_id"], "op_code": 1}})) == (
        BAD_INPUT, "Error sending party data: party member not found")


async def test_close_tells_every_member(client: Client, state: ServerState) -> None:
    _, leader = await connect(client, state)
    _, member = await connect(client, state)
    joined = await open_party_with_member(leader, member)
    party_id = joined["party_id"]
    assert error(await member.request({"party_close": {"party_id": party_id}})) == (
        BAD_INPUT, "Error closing party: party leader only")
    assert await leader.request({"party_close": {"party_id": party_id}}) == {}
    for socket in (leader, member):
        assert (await socket.pushed_with("party_close"))["party_id"] == party_id
    assert error(await member.request({"party_join": {"party_id": party_id}})) == (
        BAD_INPUT, "Error joining party: party not found")


async def test_update_label_and_openness(client: Client, state: ServerState) -> None:
    _, leader = await connect(client, state)
    _, member = await connect(client, state)
    _, later = await connect(client, state)
    joined = await open_party_with_member(leader, member)
    party_id = joined["party_id"]
    assert error(await member.request({"party_update": {"party_id": party_id, "open": False}})) == (
        BAD_INPUT, "Error updating party: party leader only")
    assert error(await leader.request({"party_update": {"party_id": party_id, "hidden": True,
                                                        "label": '{"a":1}'}})) == (
        BAD_INPUT, "Error updating party: party is hidden and label is not empty, invalid operation")
    assert await leader.request({"party_update": {"party_id": party_id, "label": '{"a":1}', "open": False}}) == {}
    update = await member.pushed_with("party_update")
    assert update == {"party_id": party_id, "label": '{"a":1}'}
    # Now closed: a join is a request to the leader.
    assert await later.request({"party_join": {"party_id": party_id}}) == {}
    assert (await leader.pushed_with("party_join_request"))["party_id"] == party_id


async def test_party_matchmaker_checks(client: Client, state: ServerState) -> None:
    _, leader = await connect(client, state)
    _, member = await connect(client, state)
    joined = await open_party_with_member(leader, member)
    party_id = joined["party_id"]
    cases = [({"min_count": 1, "max_count": 2}, "Invalid minimum count, must be >= 2"),
             ({"min_count": 3, "max_count": 2}, "Invalid maximum count, must be >= minimum count"),
             ({"min_count": 2, "max_count": 4, "count_multiple": 0}, "Invalid count multiple, must be >= 1"),
             ({"min_count": 3, "max_count": 4, "count_multiple": 2},
              "Invalid count multiple for minimum count, must divide"),
             ({"min_count": 2, "max_count": 5, "count_multiple": 2},
              "Invalid count multiple for maximum count, must divide")]
    for body, message in cases:
        assert error(await leader.request({"party_matchmaker_add": {"party_id": party_id, **body}})) == (
            BAD_INPUT, message)
    assert error(await member.request({"party_matchmaker_add": {"party_id": party_id, "min_count": 2,
                                                                "max_count": 2}})) == (
        BAD_INPUT, "Error adding party to matchmaker: party leader only")
    assert error(await leader.request({"party_matchmaker_remove": {"party_id": party_id}})) == (
        BAD_INPUT, "Invalid matchmaker ticket")
    assert error(await member.request({"party_matchmaker_remove": {"party_id": party_id, "ticket": "t"}})) == (
        BAD_INPUT, "Error closing party: party leader only")


@pytest.fixture
async def single_party_client(make_config: Callable[..., Config], database_url: str,
                              aiohttp_client: Callable[..., Any]) -> AsyncIterator[tuple[Client, ServerState]]:
    state = await build_state(make_config("--session.single_socket", "true", "--session.single_party", "true"),
                              database_url)
    try:
        yield await aiohttp_client(WireTestServer(build_app(state))), state
    finally:
        await state.close()


async def test_single_party_leaves_the_previous_party(single_party_client: tuple[Client, ServerState]) -> None:
    client, state = single_party_client
    _, leader = await connect(client, state)
    bob, member = await connect(client, state)
    first = await open_party_with_member(leader, member)
    await create(member, True)  # bob's own party: he leaves the first one
    event = await leader.pushed_with("party_presence_event")
    assert [p["user_id"] for p in event["leaves"]] == [bob.user_id]
    assert error(await member.request({"party_data_send": {"party_id": first["party_id"], "op_code": 1}})) == (
        BAD_INPUT, "Error sending party data: party member not found")


async def test_party_tickets_reach_every_member_and_go_with_membership_changes(client: Client,
                                                                               state: ServerState) -> None:
    alice, leader = await connect(client, state)
    bob, member = await connect(client, state)
    _, third = await connect(client, state)
    joined = await open_party_with_member(leader, member)
    party_id = joined["party_id"]

    async def add() -> str:
        reply = await leader.request({"party_matchmaker_add": {"party_id": party_id, "min_count": 3,
                                                               "max_count": 3, "query": "*"}})
        ticket: str = reply["party_matchmaker_ticket"]["ticket"]
        assert reply["party_matchmaker_ticket"]["party_id"] == party_id
        assert (await member.pushed_with("party_matchmaker_ticket")) == {"party_id": party_id, "ticket": ticket}
        return ticket

    ticket = await add()
    entry = state.matchmaker.pool.get(ticket)
    assert entry is not None and entry.party_id == party_id and entry.session_id == ""
    assert {p.user_id for p in entry.presences} == {alice.user_id, bob.user_id}
    assert error(await leader.request({"party_matchmaker_remove": {"party_id": party_id, "ticket": "nope"}})) == (
        BAD_INPUT, "Error closing party: matchmaker ticket not found")
    assert await leader.request({"party_matchmaker_remove": {"party_id": party_id, "ticket": ticket}}) == {}
    assert state.matchmaker.pool.get(ticket) is None

    # A member joining, or the leader leaving, ends the party's matchmaking.
    ticket = await add()
    await third.request({"party_join": {"party_id": party_id}})
    await third.pushed_with("party")
    await no_tickets(state, party_id)
    ticket = await add()
    await leader.request({"party_leave": {"party_id": party_id}})
    assert (await member.pushed_with("party_leader"))["presence"]["user_id"] == bob.user_id
    await no_tickets(state, party_id)


async def test_a_party_matchmakes_with_a_solo_player(client: Client, state: ServerState) -> None:
    _, leader = await connect(client, state)
    _, member = await connect(client, state)
    _, solo = await connect(client, state)
    joined = await open_party_with_member(leader, member)
    party_id = joined["party_id"]
    assert "matchmaker_ticket" in await solo.request({"matchmaker_add": {"min_count": 3, "max_count": 3,
                                                                         "query": "*"}})
    ticket = (await leader.request({"party_matchmaker_add": {"party_id": party_id, "min_count": 3, "max_count": 3,
                                                             "query": "*"}}))["party_matchmaker_ticket"]["ticket"]
    assert await state.matchmaker.process() == 1
    matched = [await socket.pushed_with("matchmaker_matched") for socket in (leader, member, solo)]
    assert {m["token"] for m in matched} == {matched[0]["token"]} and len(matched[0]["users"]) == 3
    assert matched[0]["ticket"] == matched[1]["ticket"] == ticket
    assert matched[0]["self"]["party_id"] == matched[1]["self"]["party_id"] == party_id
    assert "party_id" not in matched[2]["self"]

    # Closing the party drops a ticket it still has.
    await leader.request({"party_matchmaker_add": {"party_id": party_id, "min_count": 4, "max_count": 4}})
    assert state.matchmaker.pool.of_party(party_id)
    await leader.request({"party_close": {"party_id": party_id}})
    await no_tickets(state, party_id)
