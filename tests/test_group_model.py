"""Group roles against a small reference model (hypothesis).

Random joins, leaves, adds, kicks, bans, promotions and demotions by members of every
role (and by the runtime) on a small group must leave the same roles, the same member
count and the same refusals as the model.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nakama_py.config import load_config, parse_flags
from nakama_py.errors import NakamaError
from nakama_py.state import ServerState, build_state

PEOPLE = 5
RUNTIME = -1


@dataclass
class Model:
    """Nakama's role rules, written as plainly as possible. Roles: 0-4; count: roles 0-2."""

    open: bool
    max_count: int
    roles: dict[int, int] = field(default_factory=lambda: {0: 0})
    exists: bool = True

    def count(self) -> int:
        return sum(1 for role in self.roles.values() if role <= 2)

    def others_superadmin(self, user: int) -> bool:
        return any(role == 0 for other, role in self.roles.items() if other != user)

    def caller_role(self, caller: int) -> int:
        if caller == RUNTIME and self.exists:
            return 0
        role = self.roles.get(caller)
        if role is None or role > 1 or not self.exists:
            raise ValueError("Group not found or permission denied.")
        return role

    def step(self, action: str, actor: int, target: int) -> None:
        if action == "join":
            if not self.exists:
                raise ValueError("Group not found.")
            if self.count() >= self.max_count:
                raise ValueError("Group is full.")
            if actor not in self.roles:
                self.roles[actor] = 2 if self.open else 3
        elif action == "leave":
            role = self.roles.get(actor)
            if not self.exists or role is None or role == 4:
                return
            if role == 0 and not self.others_superadmin(actor):
                if not any(r <= 2 for u, r in self.roles.items() if u != actor):
                    self.exists, self.roles = False, {}
                    return
                raise ValueError("Cannot leave group when you are the last superadmin.")
            del self.roles[actor]
        elif action == "add":
            self.caller_role(actor)
            if target != actor and self.roles.get(target, 3) == 3:
                self.roles[target] = 2
                if self.count() > self.max_count:
                    raise ValueError("Group is full.")
        elif action in ("kick", "ban"):
            mine = self.caller_role(actor)
            role = self.roles.get(target)
            if target == actor or role is None or (mine == 1 and role <= 1) \
                    or (role == 0 and not self.others_superadmin(target)):
                return
            del self.roles[target]
            if action == "ban":
                self.roles[target] = 4
        elif action == "promote":
            mine = self.caller_role(actor)
            role = self.roles.get(target)
            if target != actor and role is not None and 0 < role <= 3 and role > mine:
                self.roles[target] = role - 1
                if self.count() > self.max_count:
                    raise ValueError("Group is full.")
        else:
            mine = self.caller_role(actor)
            role = self.roles.get(target)
            if target != actor and role is not None and mine <= role < 2 \
                    and (role != 0 or self.others_superadmin(target)):
                self.roles[target] = role + 1


@pytest.fixture
def social(database_url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, ServerState]]:
    loop = asyncio.new_event_loop()
    files, flags = parse_flags(["--database.address", database_url, "--logger.level", "error",
                                "--runtime.path", "/nonexistent-runtime", "--database.max_open_conns", "6"])
    state = loop.run_until_complete(build_state(load_config(files, flags, environ={}), database_url))
    try:
        yield loop, state
    finally:
        loop.run_until_complete(state.close())
        loop.close()


people = st.integers(0, PEOPLE - 1)
steps = st.lists(st.tuples(st.sampled_from(["join", "leave", "add", "kick", "ban", "promote", "demote"]),
                           st.one_of(people, st.just(RUNTIME)), people), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(open_group=st.booleans(), max_count=st.integers(1, 4), plan=steps)
def test_group_roles_match_the_model(social: tuple[asyncio.AbstractEventLoop, ServerState], open_group: bool,
                                     max_count: int, plan: list[tuple[str, int, int]]) -> None:
    loop, state = social
    loop.run_until_complete(_scenario(state, open_group, max_count, plan))


async def _scenario(state: ServerState, open_group: bool, max_count: int,
                    plan: list[tuple[str, int, int]]) -> None:
    ids = [str(uuid.uuid4()) for _ in range(PEOPLE)]
    for user_id in ids:
        await state.db.execute("INSERT INTO users (id, username) VALUES (%s, %s)", (user_id, "g" + user_id[:12]))
    group = await state.groups.create(ids[0], "model-" + ids[0], open=open_group, max_count=max_count)
    model = Model(open_group, max_count)
    groups = state.groups
    for action, actor, target in plan:
        if action in ("join", "leave") and actor == RUNTIME:
            actor = target  # users join and leave for themselves
        expected = copy.deepcopy(model)
        try:
            expected.step(action, actor, target)
            expected_error = None
        except ValueError as exc:
            expected_error = str(exc)
            expected = model  # a refused call changes nothing
        caller = None if actor == RUNTIME else ids[actor]
        try:
            if action == "join":
                await groups.join(group.id, ids[actor], "u")
            elif action == "leave":
                await groups.leave(group.id, ids[actor])
            else:
                await getattr(groups, action)(group.id, caller, [ids[target]])
            got_error = None
        except NakamaError as exc:
            got_error = exc.message
        assert got_error == expected_error, (action, actor, target)
        model = expected
        listed = await state.db.fetch("SELECT destination_id::text, state FROM group_edge WHERE source_id = %s",
                                      (group.id,))
        assert {ids.index(row[0]): row[1] for row in listed} == model.roles, (action, actor, target)
        count = await state.db.fetchval("SELECT edge_count FROM groups WHERE id = %s", (group.id,))
        assert (count if count is not None else 0) == (model.count() if model.exists else 0)
