"""Groups on the live application: roles, counts, join rules, listing, notifications, messages and codes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from nakama_py.state import ServerState
from tests.support.routes import Client, MakeUser, call, error
from tests.support.users import TestUser


async def create(client: Client, user: TestUser, **fields: Any) -> dict[str, Any]:
    status, group = await call(client, "POST", "/v2/group", user, {"name": "g" + uuid.uuid4().hex, **fields})
    assert status == 200, group
    return group  # type: ignore[no-any-return]


async def members(client: Client, user: TestUser, group_id: str, **params: Any) -> dict[str, int]:
    status, body = await call(client, "GET", f"/v2/group/{group_id}/user", user, **params)
    assert status == 200, body
    return {item["user"]["username"]: item["state"] for item in body.get("group_users", [])}


async def edge_count(client: Client, user: TestUser, group_id: str) -> int:
    status, body = await call(client, "GET", f"/v2/user/{user.user_id}/group", user)
    assert status == 200
    return next(int(item["group"]["edge_count"]) for item in body["user_groups"] if item["group"]["id"] == group_id)


# --- creating, updating, deleting -----------------------------------------------------------------

async def test_create_answers_the_group(client: Client, alice: TestUser) -> None:
    group = await create(client, alice, open=True, description="d", lang_tag="fr")
    assert group["creator_id"] == alice.user_id and group["open"] is True
    assert (group["edge_count"], group["max_count"], group["metadata"], group["lang_tag"]) == (1, 100, "{}", "fr")
    closed = await create(client, alice)
    assert closed["open"] is False and closed["lang_tag"] == "en"
    assert await members(client, alice, group["id"]) == {alice.username: 0}


async def test_create_messages(client: Client, alice: TestUser) -> None:
    assert await call(client, "POST", "/v2/group", alice, {}) == (400, error("Group name must be set."))
    assert await call(client, "POST", "/v2/group", alice, {"name": "x" + uuid.uuid4().hex, "max_count": -1}) == (
        400, error("Group max count must be >= 1 when set."))
    group = await create(client, alice)
    assert await call(client, "POST", "/v2/group", alice, {"name": group["name"]}) == (
        409, error("Group name is in use.", 6))


async def test_update_by_admins_only(client: Client, alice: TestUser, bob: TestUser) -> None:
    group = await create(client, alice, open=True)
    path = f"/v2/group/{group['id']}"
    assert await call(client, "PUT", path, alice, {"name": group["name"] + "2", "open": False}) == (200, {})
    _, listed = await call(client, "GET", f"/v2/user/{alice.user_id}/group", alice)
    assert (listed["user_groups"][0]["group"]["name"], listed["user_groups"][0]["group"]["open"]) == (
        group["name"] + "2", False)
    assert await call(client, "PUT", path, bob, {"name": "b"}) == (
        404, error("Group not found or you're not allowed to update.", 5))
    assert await call(client, "PUT", path, alice, {}) == (400, error("Specify at least one field to update."))
    assert await call(client, "PUT", path, alice, {"name": ""}) == (400, error("Group name cannot be empty."))
    assert await call(client, "PUT", "/v2/group/nope", alice, {"name": "x"}) == (
        400, error("Group ID must be a valid ID."))
    other = await create(client, alice)
    assert await call(client, "PUT", path, alice, {"name": other["name"]}) == (400, error("Group name is in use."))


async def test_delete_by_superadmins_only(client: Client, alice: TestUser, bob: TestUser) -> None:
    group = await create(client, alice, open=True)
    await call(client, "POST", f"/v2/group/{group['id']}/join", bob)
    assert await call(client, "DELETE", f"/v2/group/{group['id']}", bob) == (
        400, error("Group not found or you're not allowed to delete."))
    assert await call(client, "DELETE", f"/v2/group/{group['id']}", alice) == (200, {})
    assert await call(client, "GET", f"/v2/user/{bob.user_id}/group", bob) == (200, {})


# --- joining and leaving -----------------------------------------------------------------------------

async def test_join_open_and_closed(client: Client, state: ServerState, alice: TestUser, bob: TestUser) -> None:
    open_group, closed_group = await create(client, alice, open=True), await create(client, alice)
    assert await call(client, "POST", f"/v2/group/{open_group['id']}/join", bob) == (200, {})
    assert await call(client, "POST", f"/v2/group/{closed_group['id']}/join", bob) == (200, {})
    assert await members(client, alice, open_group["id"]) == {alice.username: 0, bob.username: 2}
    assert await members(client, alice, closed_group["id"]) == {alice.username: 0, bob.username: 3}
    assert await edge_count(client, alice, open_group["id"]) == 2
    assert await edge_count(client, alice, closed_group["id"]) == 1
    notes, _ = await state.notifications.list_notifications(alice.user_id)
    assert [(n.code, n.subject, n.content, n.sender_id) for n in notes] == [
        (-5, f"User {bob.username} wants to join your group", {"group_id": closed_group["id"],
                                                                 "username": bob.username}, bob.user_id)]
    assert await call(client, "POST", f"/v2/group/{uuid.uuid4()}/join", bob) == (404, error("Group not found.", 5))
    assert await call(client, "POST", "/v2/group/x/join", bob) == (400, error("Group ID must be a valid ID."))


async def test_full_group(client: Client, alice: TestUser, bob: TestUser, user_factory: MakeUser) -> None:
    group = await create(client, alice, open=True, max_count=2)
    await call(client, "POST", f"/v2/group/{group['id']}/join", bob)
    carol = await user_factory()
    assert await call(client, "POST", f"/v2/group/{group['id']}/join", carol) == (400, error("Group is full."))
    assert await call(client, "POST", f"/v2/group/{group['id']}/add", alice, user_ids=carol.user_id) == (
        400, error("Group is full."))


async def test_leave_rules(client: Client, alice: TestUser, bob: TestUser) -> None:
    group = await create(client, alice, open=True)
    gid = group["id"]
    await call(client, "POST", f"/v2/group/{gid}/join", bob)
    assert await call(client, "POST", f"/v2/group/{gid}/leave", alice) == (
        400, error("Cannot leave group when you are the last superadmin."))
    assert await call(client, "POST", f"/v2/group/{gid}/leave", bob) == (200, {})
    assert await edge_count(client, alice, gid) == 1
    assert await call(client, "POST", f"/v2/group/{gid}/leave", bob) == (200, {})  # not in it: fine
    # the last member leaving deletes the group
    assert await call(client, "POST", f"/v2/group/{gid}/leave", alice) == (200, {})
    assert await call(client, "POST", f"/v2/group/{gid}/join", bob) == (404, error("Group not found.", 5))


# --- adding, kicking, banning, promoting, demoting -----------------------------------------------------

async def test_add_accepts_requests_and_notifies(client: Client, state: ServerState, alice: TestUser,
                                                 bob: TestUser, user_factory: MakeUser) -> None:
    group = await create(client, alice)
    gid = group["id"]
    carol = await user_factory()
    await call(client, "POST", f"/v2/group/{gid}/join", bob)
    assert await call(client, "POST", f"/v2/group/{gid}/add", alice, user_ids=[bob.user_id, carol.user_id]) == (200, {})
    assert await members(client, alice, gid) == {alice.username: 0, bob.username: 2, carol.username: 2}
    assert await edge_count(client, alice, gid) == 3
    notes, _ = await state.notifications.list_notifications(carol.user_id)
    assert [(n.code, n.subject, n.content) for n in notes] == [
        (-4, f"You've been added to group {group['name']}", {"group_id": gid, "name": group["name"]})]
    # members cannot add; unknown users and bad ids are refused
    dave = await user_factory()
    assert await call(client, "POST", f"/v2/group/{gid}/add", bob, user_ids=dave.user_id) == (
        404, error("Group not found or permission denied.", 5))
    assert await call(client, "POST", f"/v2/group/{gid}/add", alice, user_ids=str(uuid.uuid4())) == (
        400, error("One or more users not found."))
    assert await call(client, "POST", f"/v2/group/{gid}/add", alice, user_ids="x") == (
        400, error("User ID must be a valid ID."))
    assert await call(client, "POST", f"/v2/group/{gid}/add", alice) == (200, {})


async def test_kick_and_ban(client: Client, alice: TestUser, bob: TestUser, user_factory: MakeUser) -> None:
    group = await create(client, alice, open=True)
    gid = group["id"]
    carol = await user_factory()
    await call(client, "POST", f"/v2/group/{gid}/add", alice, user_ids=[bob.user_id, carol.user_id])
    assert await call(client, "POST", f"/v2/group/{gid}/kick", alice, user_ids=bob.user_id) == (200, {})
    assert await call(client, "POST", f"/v2/group/{gid}/ban", alice, user_ids=carol.user_id) == (200, {})
    assert await members(client, alice, gid) == {alice.username: 0}  # banned users only by state
    assert await members(client, alice, gid, state=4) == {carol.username: 4}
    assert await edge_count(client, alice, gid) == 1
    assert await call(client, "GET", f"/v2/user/{carol.user_id}/group", carol) == (200, {})
    # a banned user's join changes nothing; a kicked one may come back
    assert await call(client, "POST", f"/v2/group/{gid}/join", carol) == (200, {})
    assert await call(client, "POST", f"/v2/group/{gid}/join", bob) == (200, {})
    assert await members(client, alice, gid) == {alice.username: 0, bob.username: 2}
    assert await members(client, alice, gid, state=4) == {carol.username: 4}
    assert await call(client, "POST", f"/v2/group/{gid}/kick", bob, user_ids=alice.user_id) == (
        404, error("Group not found or permission denied.", 5))
    # kicking a banned user lifts the ban
    assert await call(client, "POST", f"/v2/group/{gid}/kick", alice, user_ids=carol.user_id) == (200, {})
    assert await call(client, "POST", f"/v2/group/{gid}/join", carol) == (200, {})
    assert await members(client, alice, gid, state=2) == {bob.username: 2, carol.username: 2}


async def test_promote_and_demote(client: Client, alice: TestUser, bob: TestUser, user_factory: MakeUser) -> None:
    group = await create(client, alice)
    gid = group["id"]
    carol = await user_factory()
    await call(client, "POST", f"/v2/group/{gid}/join", bob)
    assert await call(client, "POST", f"/v2/group/{gid}/promote", alice, user_ids=bob.user_id) == (200, {})
    assert await members(client, alice, gid) == {alice.username: 0, bob.username: 2}  # request accepted
    assert await edge_count(client, alice, gid) == 2
    await call(client, "POST", f"/v2/group/{gid}/promote", alice, user_ids=bob.user_id)
    assert (await members(client, alice, gid))[bob.username] == 1
    # an admin adds and promotes up to their own role only, never to superadmin
    await call(client, "POST", f"/v2/group/{gid}/add", bob, user_ids=carol.user_id)
    await call(client, "POST", f"/v2/group/{gid}/promote", bob, user_ids=carol.user_id)
    await call(client, "POST", f"/v2/group/{gid}/promote", bob, user_ids=carol.user_id)
    assert (await members(client, alice, gid))[carol.username] == 1
    # demotions: the superadmin cannot demote itself (the last one), members stay members
    assert await call(client, "POST", f"/v2/group/{gid}/demote", alice, user_ids=alice.user_id) == (200, {})
    await call(client, "POST", f"/v2/group/{gid}/demote", alice, user_ids=[bob.user_id, carol.user_id])
    await call(client, "POST", f"/v2/group/{gid}/demote", alice, user_ids=[bob.user_id])
    assert await members(client, alice, gid) == {alice.username: 0, bob.username: 2, carol.username: 2}
    assert await call(client, "POST", f"/v2/group/{gid}/demote", alice) == (400, error("User IDs must be set."))
    assert await call(client, "POST", f"/v2/group/{gid}/promote", bob, user_ids=carol.user_id) == (
        404, error("Group not found or permission denied.", 5))


# --- listing ------------------------------------------------------------------------------------------

async def test_list_groups_filters_and_pages(client: Client, alice: TestUser) -> None:
    prefix = "L" + uuid.uuid4().hex[:8]
    for index in range(3):
        await call(client, "POST", "/v2/group", alice, {"name": f"{prefix}-{index}", "open": index != 1,
                                                         "lang_tag": "de" if index == 2 else "en"})
    status, body = await call(client, "GET", "/v2/group", alice, name=f"%{prefix.lower()}%", limit=10)
    assert status == 200 and [g["name"] for g in body["groups"]] == [f"{prefix}-{i}" for i in range(3)]
    status, page = await call(client, "GET", "/v2/group", alice, name=prefix + "%")
    assert len(page["groups"]) == 1 and page["cursor"]  # the default limit is 1
    assert (await call(client, "GET", "/v2/group", alice, name=f"{prefix}-1"))[1]["groups"][0]["open"] is False
    _, rest = await call(client, "GET", "/v2/group", alice, name=prefix + "%", limit=10, cursor=page["cursor"])
    assert [g["name"] for g in rest["groups"]] == [f"{prefix}-1", f"{prefix}-2"]
    _, german = await call(client, "GET", "/v2/group", alice, lang_tag="de", open="true", limit=100)
    assert f"{prefix}-2" in [g["name"] for g in german["groups"]]
    assert all(g["lang_tag"] == "de" and g["open"] for g in german["groups"])
    assert await call(client, "GET", "/v2/group", alice, name=prefix, lang_tag="en") == (
        400, error("name filter cannot be combined with any other filter"))
    assert await call(client, "GET", "/v2/group", alice, limit=0) == (
        400, error("Invalid limit - limit must be between 1 and 100."))
    assert await call(client, "GET", "/v2/group", alice, cursor="@@") == (400, error("Malformed cursor was used."))


async def test_list_members_checks_and_pages(client: Client, alice: TestUser, user_factory: MakeUser) -> None:
    group = await create(client, alice, open=True)
    gid = group["id"]
    for _ in range(3):
        await call(client, "POST", f"/v2/group/{gid}/join", await user_factory())
    seen: list[int] = []
    cursor = ""
    while True:
        _, body = await call(client, "GET", f"/v2/group/{gid}/user", alice, limit=2,
                             **({"cursor": cursor} if cursor else {}))
        seen += [item["state"] for item in body["group_users"]]
        cursor = body.get("cursor", "")
        if not cursor:
            break
    assert seen == [0, 2, 2, 2]
    assert await call(client, "GET", f"/v2/group/{gid}/user", alice, state=5) == (
        400, error("Invalid state - state must be between 0 and 4."))
    assert await call(client, "GET", f"/v2/group/{gid}/user", alice, limit=101) == (
        400, error("Invalid limit - limit must be between 1 and 100."))
    assert await call(client, "GET", f"/v2/group/{gid}/user", alice, cursor="x") == (400, error("Cursor is invalid."))
    assert await call(client, "GET", "/v2/user/x/group", alice) == (400, error("Group ID must be a valid ID."))


# --- concurrency ---------------------------------------------------------------------------------------

async def test_concurrent_joins_of_a_nearly_full_group_admit_one(client: Client, alice: TestUser,
                                                                 user_factory: MakeUser) -> None:
    for _ in range(5):
        group = await create(client, alice, open=True, max_count=2)
        joiners = [await user_factory() for _ in range(2)]
        results = await asyncio.gather(*(call(client, "POST", f"/v2/group/{group['id']}/join", j) for j in joiners))
        assert sorted(status for status, _ in results) == [200, 400]
        assert await edge_count(client, alice, group["id"]) == 2
        assert len(await members(client, alice, group["id"])) == 2


async def test_a_deleted_account_leaves_its_groups(client: Client, alice: TestUser, bob: TestUser,
                                                   user_factory: MakeUser) -> None:
    carol = await user_factory()
    solo = await create(client, bob, open=True)  # bob is its only superadmin: it goes with him
    shared = await create(client, alice, open=True)
    await call(client, "POST", f"/v2/group/{solo['id']}/join", carol)
    await call(client, "POST", f"/v2/group/{shared['id']}/join", bob)
    assert await call(client, "DELETE", "/v2/account", bob) == (200, {})
    assert await call(client, "POST", f"/v2/group/{solo['id']}/join", alice) == (404, error("Group not found.", 5))
    assert await call(client, "GET", f"/v2/user/{carol.user_id}/group", carol) == (200, {})
    assert await members(client, alice, shared["id"]) == {alice.username: 0}
    assert await edge_count(client, alice, shared["id"]) == 1
