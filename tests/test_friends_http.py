"""Users and friends on the live application: Nakama's states, counts, notifications, messages and codes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson

from nakama_py.state import ServerState
from tests.support.routes import Client, MakeUser, call, error
from tests.support.users import TestUser


async def friends(client: Client, user: TestUser, **params: Any) -> dict[str, int]:
    status, body = await call(client, "GET", "/v2/friend", user, **params)
    assert status == 200, body
    return {item["user"]["username"]: item["state"] for item in body.get("friends", [])}


async def edge_count(state: ServerState, user: TestUser) -> int:
    return int(await state.db.fetchval("SELECT edge_count FROM users WHERE id = %s", (user.user_id,)))


# --- users -------------------------------------------------------------------------------------

async def test_get_users_by_ids_usernames_and_facebook_ids(client: Client, state: ServerState, alice: TestUser,
                                                          bob: TestUser, user_factory: MakeUser) -> None:
    carol = await user_factory()
    await state.db.execute("UPDATE users SET facebook_id = %s WHERE id = %s", ("fb-" + carol.user_id, carol.user_id))
    status, body = await call(client, "GET", "/v2/user", alice,
                              ids=alice.user_id, usernames=bob.username, facebook_ids="fb-" + carol.user_id)
    assert status == 200
    assert sorted(user["username"] for user in body["users"]) == sorted([alice.username, bob.username, carol.username])
    for user in body["users"]:
        assert "online" not in user  # false until realtime says otherwise
        assert "edge_count" not in user


async def test_get_users_answers(client: Client, alice: TestUser) -> None:
    assert await call(client, "GET", "/v2/user", alice) == (200, {})
    assert await call(client, "GET", "/v2/user", alice, ids="nope") == (
        400, error("ID 'nope' is not a valid system ID."))
    assert await call(client, "GET", "/v2/user", alice, ids=str(uuid.uuid4())) == (200, {})
    assert (await call(client, "GET", "/v2/user", None, ids=alice.user_id))[0] == 401


# --- adding, accepting, deleting, blocking ------------------------------------------------------------

async def test_invite_then_accept_makes_mutual_friends(client: Client, state: ServerState, alice: TestUser,
                                                       bob: TestUser) -> None:
    assert await call(client, "POST", "/v2/friend", alice, ids=bob.user_id) == (200, {})
    assert await friends(client, alice) == {bob.username: 1}
    assert await friends(client, bob) == {alice.username: 2}
    assert (await edge_count(state, alice), await edge_count(state, bob)) == (1, 1)
    assert await call(client, "POST", "/v2/friend", bob, usernames=alice.username) == (200, {})
    assert await friends(client, alice) == {bob.username: 0}
    assert await friends(client, bob) == {alice.username: 0}
    assert (await edge_count(state, alice), await edge_count(state, bob)) == (1, 1)
    # Nakama's layout: two rows with one position, state 0 both ways
    rows = await state.db.fetch("SELECT source_id::text, destination_id::text, state, position FROM user_edge"
                                " WHERE source_id IN (%s, %s) ORDER BY state", (alice.user_id, bob.user_id))
    assert {(r[0], r[1], r[2]) for r in rows} == {(alice.user_id, bob.user_id, 0), (bob.user_id, alice.user_id, 0)}
    assert rows[0][3] == rows[1][3]
    _, body = await call(client, "GET", "/v2/user", alice, ids=bob.user_id)
    assert body["users"][0]["edge_count"] == 1


async def test_friend_notifications_use_nakamas_codes(client: Client, state: ServerState, alice: TestUser,
                                                      bob: TestUser) -> None:
    await call(client, "POST", "/v2/friend", alice, ids=bob.user_id)
    await call(client, "POST", "/v2/friend", bob, ids=alice.user_id)
    await call(client, "DELETE", "/v2/friend", alice, ids=bob.user_id)
    to_bob, _ = await state.notifications.list_notifications(bob.user_id)
    to_alice, _ = await state.notifications.list_notifications(alice.user_id)
    assert [(n.code, n.subject, n.sender_id) for n in to_bob] == [
        (-2, f"{alice.username} wants to add you as a friend", alice.user_id),
        (-9, f"{alice.username} removed you as a friend", alice.user_id)]
    assert [(n.code, n.subject, n.content) for n in to_alice] == [
        (-3, f"{bob.username} accepted your friend request", {"username": bob.username})]


async def test_delete_removes_both_sides_and_counts(client: Client, state: ServerState, alice: TestUser,
                                                    bob: TestUser) -> None:
    await call(client, "POST", "/v2/friend", alice, ids=bob.user_id)
    assert await call(client, "DELETE", "/v2/friend", bob, ids=alice.user_id) == (200, {})  # rejecting the invite
    assert await friends(client, alice) == {} and await friends(client, bob) == {}
    assert (await edge_count(state, alice), await edge_count(state, bob)) == (0, 0)


async def test_block_replaces_friendship_and_stops_invites(client: Client, state: ServerState, alice: TestUser,
                                                           bob: TestUser) -> None:
    await call(client, "POST", "/v2/friend", alice, ids=bob.user_id)
    await call(client, "POST", "/v2/friend", bob, ids=alice.user_id)
    assert await call(client, "POST", "/v2/friend/block", alice, ids=bob.user_id) == (200, {})
    assert await friends(client, alice) == {bob.username: 3}
    assert await friends(client, bob) == {}
    assert (await edge_count(state, alice), await edge_count(state, bob)) == (1, 0)
    # the blocked user's invites are dropped silently; so are the blocker's own
    assert await call(client, "POST", "/v2/friend", bob, ids=alice.user_id) == (200, {})
    assert await call(client, "POST", "/v2/friend", alice, ids=bob.user_id) == (200, {})
    assert await friends(client, alice) == {bob.username: 3} and await friends(client, bob) == {}
    # deleting lifts one's own block only
    assert await call(client, "DELETE", "/v2/friend", bob, ids=alice.user_id) == (200, {})
    assert await friends(client, alice) == {bob.username: 3}
    assert await call(client, "DELETE", "/v2/friend", alice, ids=bob.user_id) == (200, {})
    assert await friends(client, alice) == {}
    assert (await edge_count(state, alice), await edge_count(state, bob)) == (0, 0)


async def test_block_a_stranger(client: Client, state: ServerState, alice: TestUser, bob: TestUser) -> None:
    assert await call(client, "POST", "/v2/friend/block", alice, usernames=bob.username) == (200, {})
    assert await friends(client, alice, state=3) == {bob.username: 3}
    assert await edge_count(state, alice) == 1


async def test_add_delete_block_messages(client: Client, alice: TestUser) -> None:
    for method, path, self_message in (("POST", "/v2/friend", "Cannot add self as friend."),
                                       ("DELETE", "/v2/friend", "Cannot delete self."),
                                       ("POST", "/v2/friend/block", "Cannot block self.")):
        assert await call(client, method, path, alice) == (200, {})
        assert await call(client, method, path, alice, ids=alice.user_id) == (400, error(self_message))
        assert await call(client, method, path, alice, usernames=alice.username) == (400, error(self_message))
        assert await call(client, method, path, alice, ids="x") == (400, error("Invalid user ID 'x'."))
        nil = "00000000-0000-0000-0000-000000000000"
        assert await call(client, method, path, alice, ids=nil) == (400, error(f"Invalid user ID '{nil}'."))
        assert await call(client, method, path, alice, usernames="") == (400, error("Username must not be empty."))
    nobody = "nobody-" + uuid.uuid4().hex
    for path in ("/v2/friend", "/v2/friend/block"):
        assert await call(client, "POST", path, alice, usernames=nobody) == (
            400, error("No valid ID or username was provided."))
    assert await call(client, "DELETE", "/v2/friend", alice, usernames=nobody) == (200, {})
    # an id nobody holds is accepted and changes nothing
    assert await call(client, "POST", "/v2/friend", alice, ids=str(uuid.uuid4())) == (200, {})
    assert await friends(client, alice) == {}


# --- listing -----------------------------------------------------------------------------------------

async def test_list_filters_pages_and_checks(client: Client, alice: TestUser, user_factory: MakeUser) -> None:
    others = [await user_factory() for _ in range(5)]
    for other in others:
        await call(client, "POST", "/v2/friend", alice, ids=other.user_id)
    await call(client, "POST", "/v2/friend", others[0], ids=alice.user_id)
    await call(client, "POST", "/v2/friend/block", alice, ids=others[1].user_id)
    assert await friends(client, alice, state=0) == {others[0].username: 0}
    assert await friends(client, alice, state=1) == {o.username: 1 for o in others[2:]}
    seen: list[tuple[str, int]] = []
    cursor = ""
    while True:
        status, body = await call(client, "GET", "/v2/friend", alice, limit=2, **({"cursor": cursor} if cursor else {}))
        assert status == 200 and len(body["friends"]) <= 2
        seen += [(item["user"]["username"], item["state"]) for item in body["friends"]]
        cursor = body.get("cursor", "")
        if not cursor:
            break
    assert [state for _, state in seen] == [0, 1, 1, 1, 3]
    assert len({name for name, _ in seen}) == 5
    _, first = await call(client, "GET", "/v2/friend", alice, limit=1, state=1)
    assert await call(client, "GET", "/v2/friend", alice, state=0, cursor=first["cursor"]) == (
        400, error("Cursor is invalid."))
    assert await call(client, "GET", "/v2/friend", alice, cursor="!!") == (400, error("Cursor is invalid."))
    for limit in (0, 1001):
        assert await call(client, "GET", "/v2/friend", alice, limit=limit) == (
            400, error("Invalid limit - limit must be between 1 and 1000."))
    for state in (-1, 4):
        assert await call(client, "GET", "/v2/friend", alice, state=state) == (
            400, error("Invalid state - state must be between 0 and 3."))
    item = (await call(client, "GET", "/v2/friend", alice, state=0))[1]["friends"][0]
    assert set(item) == {"user", "state", "update_time", "metadata"} and item["metadata"] == "{}"


async def test_friends_of_friends(client: Client, alice: TestUser, bob: TestUser, user_factory: MakeUser) -> None:
    carol, dave, eve = await user_factory(), await user_factory(), await user_factory()
    for a, b in ((alice, bob), (bob, carol), (bob, dave), (alice, dave), (dave, eve)):
        await call(client, "POST", "/v2/friend", a, ids=b.user_id)
        await call(client, "POST", "/v2/friend", b, ids=a.user_id)
    status, body = await call(client, "GET", "/v2/friend/friends", alice)
    assert status == 200
    # bob and dave are already alice's friends; alice herself is left out
    assert {(item["referrer"], item["user"]["username"]) for item in body["friends_of_friends"]} == {
        (bob.user_id, carol.username), (dave.user_id, eve.username)}
    status, page = await call(client, "GET", "/v2/friend/friends", alice, limit=1)
    assert status == 200 and len(page["friends_of_friends"]) == 1 and page["cursor"]
    _, rest = await call(client, "GET", "/v2/friend/friends", alice, limit=1, cursor=page["cursor"])
    assert len(rest["friends_of_friends"]) == 1
    assert rest["friends_of_friends"][0]["user"]["id"] != page["friends_of_friends"][0]["user"]["id"]
    for limit in (0, 101):
        assert await call(client, "GET", "/v2/friend/friends", alice, limit=limit) == (
            400, error("Invalid limit - limit must be between 1 and 100."))
    assert await call(client, "GET", "/v2/friend/friends", alice, cursor="x") == (400, error("Cursor is invalid."))


async def test_metadata_is_kept_on_the_adders_side(client: Client, alice: TestUser, bob: TestUser) -> None:
    await call(client, "POST", "/v2/friend", alice, ids=bob.user_id, metadata='{"a": 1}')
    _, body = await call(client, "GET", "/v2/friend", alice)
    assert orjson.loads(body["friends"][0]["metadata"]) == {"a": 1}


# --- imports ---------------------------------------------------------------------------------------

async def test_imports_answer_as_nakama_without_the_provider(client: Client, alice: TestUser) -> None:
    assert await call(client, "POST", "/v2/friend/facebook", alice, {}) == (
        400, error("Facebook token is required."))
    assert await call(client, "POST", "/v2/friend/facebook", alice, {"token": "t"}) == (
        401, error("Could not authenticate Facebook profile.", 16))
    assert await call(client, "POST", "/v2/friend/steam", alice, {"token": "t"}) == (
        400, error("Steam authentication is not configured.", 9))


# --- concurrency -----------------------------------------------------------------------------------

async def test_adding_each_other_at_once_ends_mutual(client: Client, state: ServerState,
                                                     user_factory: MakeUser) -> None:
    for _ in range(10):
        a, b = await user_factory(), await user_factory()
        results = await asyncio.gather(call(client, "POST", "/v2/friend", a, ids=b.user_id),
                                       call(client, "POST", "/v2/friend", b, ids=a.user_id))
        assert list(results) == [(200, {}), (200, {})]
        assert await friends(client, a) == {b.username: 0}
        assert await friends(client, b) == {a.username: 0}
        assert (await edge_count(state, a), await edge_count(state, b)) == (1, 1)
