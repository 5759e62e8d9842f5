"""The runtime's social functions: the same rules as the routes, with the runtime as superadmin."""

from __future__ import annotations

import pytest

from nakama_py.errors import NakamaError
from nakama_py.runtime import NakamaModule
from nakama_py.state import ServerState
from tests.support.users import create_user


@pytest.fixture
def nk(state: ServerState) -> NakamaModule:
    assert state.runtime.nk is not None
    return state.runtime.nk


async def test_friends_through_nk(state: ServerState, nk: NakamaModule) -> None:
    alice, bob, carol = await create_user(state), await create_user(state), await create_user(state)
    await nk.friends_add(alice.user_id, alice.username, ids=[bob.user_id], metadata={"since": 1})
    await nk.friends_add(bob.user_id, bob.username, usernames=[alice.username])
    await nk.friends_block(alice.user_id, alice.username, ids=[carol.user_id])
    friends, cursor = await nk.friends_list(alice.user_id)
    assert [(f.user.id, f.state) for f in friends] == [(bob.user_id, 0), (carol.user_id, 3)] and cursor is None
    assert friends[0].metadata == {"since": 1}
    only_friends, _ = await nk.friends_list(alice.user_id, state=0)
    assert [f.user.username for f in only_friends] == [bob.username]
    await nk.friends_delete(alice.user_id, alice.username, ids=[bob.user_id])
    assert await state.friends.friend_ids(bob.user_id) == []
    with pytest.raises(NakamaError, match=r"Cannot add self as friend\."):
        await nk.friends_add(alice.user_id, alice.username, ids=[alice.user_id])
    [user] = await nk.users_get_id([alice.user_id])
    assert user.edge_count == 1 and user.online is False


async def test_groups_through_nk(state: ServerState, nk: NakamaModule) -> None:
    alice, bob, carol = await create_user(state), await create_user(state), await create_user(state)
    group = await nk.group_create(alice.user_id, "nk-" + alice.user_id, open=False, max_count=3,
                                  metadata={"tier": 1})
    assert (group.open, group.max_count, group.metadata, group.edge_count) == (False, 3, {"tier": 1}, 1)
    await nk.group_user_join(group.id, bob.user_id, bob.username)  # closed: a join request
    await nk.group_users_add(group.id, [bob.user_id, carol.user_id])  # the runtime accepts and adds
    await nk.group_users_promote(group.id, [bob.user_id])
    members, _ = await nk.group_users_list(group.id)
    assert {(m.user.id, m.state) for m in members} == {(alice.user_id, 0), (bob.user_id, 1), (carol.user_id, 2)}
    assert await state.groups.member_role(group.id, carol.user_id) == 2
    # acting as a user applies that user's role
    with pytest.raises(NakamaError, match=r"Group not found or permission denied\."):
        await nk.group_users_kick(group.id, [bob.user_id], caller_id=carol.user_id)
    await nk.group_users_ban(group.id, [carol.user_id], caller_id=bob.user_id)
    assert await state.groups.member_role(group.id, carol.user_id) == 4
    await nk.group_update(group.id, name="nk2-" + alice.user_id, open=True)
    [fetched] = await nk.groups_get_id([group.id])
    assert (fetched.name, fetched.open, fetched.edge_count) == ("nk2-" + alice.user_id, True, 2)
    user_groups, _ = await nk.user_groups_list(bob.user_id)
    assert [(g.group.id, g.state) for g in user_groups] == [(group.id, 1)]
    listed, _ = await nk.groups_list(name="nk2-" + alice.user_id)
    assert [g.id for g in listed] == [group.id]
    await nk.group_users_demote(group.id, [bob.user_id])
    await nk.group_user_leave(group.id, bob.user_id)
    await nk.group_delete(group.id)
    assert await nk.groups_get_id([group.id]) == []


async def test_friend_metadata_update(state: ServerState, nk: NakamaModule) -> None:
    alice, bob, carol = await create_user(state), await create_user(state), await create_user(state)
    await nk.friends_add(alice.user_id, alice.username, ids=[bob.user_id], metadata={"since": 1})
    await nk.friend_metadata_update(alice.user_id, bob.user_id, {"nickname": "b"})  # replaces, not merges
    [mine], _ = await nk.friends_list(alice.user_id)
    [theirs], _ = await nk.friends_list(bob.user_id)
    assert (mine.state, mine.metadata) == (1, {"nickname": "b"}) and theirs.metadata == {}  # one edge only
    await nk.friend_metadata_update(bob.user_id, alice.user_id, None)
    await nk.friend_metadata_update(alice.user_id, carol.user_id, {"x": 1})  # no edge: nothing, no error
    assert await nk.friends_list(carol.user_id) == ([], None)
    with pytest.raises(NakamaError, match="expects user ID to be a valid identifier"):
        await nk.friend_metadata_update("x", bob.user_id, {})
    with pytest.raises(NakamaError, match="expects friend user ID to be a valid identifier"):
        await nk.friend_metadata_update(alice.user_id, "x", {})
