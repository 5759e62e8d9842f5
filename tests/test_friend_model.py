"""The friend state machine against a small reference model (hypothesis).

Random adds, deletes and blocks among four users must leave, for every user, the
same states in ``list_friends`` and the same ``users.edge_count`` as the model.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nakama_py.config import load_config, parse_flags
from nakama_py.state import ServerState, build_state

PEOPLE = 4
Edges = dict[tuple[int, int], int]


def model_step(edges: Edges, action: str, a: int, b: int) -> None:
    """Nakama's rules, written as plainly as possible: (source, destination) -> state."""
    mine, theirs = edges.get((a, b)), edges.get((b, a))
    if action == "add":
        if mine == 3 or theirs == 3:
            return
        if mine == 2:
            edges[(a, b)] = edges[(b, a)] = 0
        elif mine is None:
            edges[(a, b)], edges[(b, a)] = 1, 2
    elif action == "delete":
        edges.pop((a, b), None)
        if theirs is not None and theirs != 3:
            del edges[(b, a)]
    else:
        edges[(a, b)] = 3
        if theirs is not None and theirs != 3:
            del edges[(b, a)]


@pytest.fixture
def social(database_url: str, tmp_path: object) -> Iterator[tuple[asyncio.AbstractEventLoop, ServerState]]:
    """A server state on a loop of its own (hypothesis drives a plain function)."""
    loop = asyncio.new_event_loop()
    files, flags = parse_flags(["--database.address", database_url, "--logger.level", "warn",
                                "--runtime.path", "/nonexistent-runtime", "--database.max_open_conns", "6"])
    state = loop.run_until_complete(build_state(load_config(files, flags, environ={}), database_url))
    try:
        yield loop, state
    finally:
        loop.run_until_complete(state.close())
        loop.close()


pairs = st.tuples(st.integers(0, PEOPLE - 1), st.integers(0, PEOPLE - 1)).filter(lambda p: p[0] != p[1])
actions = st.lists(st.tuples(st.sampled_from(["add", "delete", "block"]), pairs), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_friends_match_the_model(social: tuple[asyncio.AbstractEventLoop, ServerState],
                                 steps: list[tuple[str, tuple[int, int]]]) -> None:
    loop, state = social
    loop.run_until_complete(_scenario(state, steps))


async def _scenario(state: ServerState, steps: list[tuple[str, tuple[int, int]]]) -> None:
    people = [str(uuid.uuid4()) for _ in range(PEOPLE)]
    names = ["m" + person[:12] for person in people]
    for person, name in zip(people, names, strict=True):
        await state.db.execute("INSERT INTO users (id, username) VALUES (%s, %s)", (person, name))
    edges: Edges = {}
    for action, (a, b) in steps:
        if action == "add":
            await state.friends.add(people[a], names[a], [people[b]])
        elif action == "delete":
            await state.friends.delete(people[a], names[a], [people[b]])
        else:
            await state.friends.block(people[a], [people[b]])
        model_step(edges, action, a, b)
    for index, person in enumerate(people):
        listed, _ = await state.friends.list_friends(person)
        assert {friend.user.id: friend.state for friend in listed} == {
            people[dst]: st_ for (src, dst), st_ in edges.items() if src == index}
        count = await state.db.fetchval("SELECT edge_count FROM users WHERE id = %s", (person,))
        assert count == sum(1 for src, _ in edges if src == index)
