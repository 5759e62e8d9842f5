"""The leaderboard vocabulary: Nakama's numbers and the names each layer accepts."""

from __future__ import annotations

import pytest

from nakama_py.leaderboard_enums import Operator, OperatorOverride, SortOrder


def test_numbers_are_nakamas() -> None:
    # The stored encoding (leaderboard.operator, leaderboard.sort_order) and the API enum.
    assert [int(o) for o in (Operator.BEST, Operator.SET, Operator.INCREMENT, Operator.DECREMENT)] == [0, 1, 2, 3]
    assert [int(s) for s in (SortOrder.ASCENDING, SortOrder.DESCENDING)] == [0, 1]
    assert [int(o) for o in OperatorOverride] == [0, 1, 2, 3, 4]
    assert [o.name for o in OperatorOverride] == ["NO_OVERRIDE", "BEST", "SET", "INCREMENT", "DECREMENT"]


@pytest.mark.parametrize(("name", "expected"), [
    ("asc", SortOrder.ASCENDING), ("ASCENDING", SortOrder.ASCENDING), ("desc", SortOrder.DESCENDING),
    ("Descending", SortOrder.DESCENDING), (0, SortOrder.ASCENDING), (1, SortOrder.DESCENDING)])
def test_sort_order_parse(name: str | int, expected: SortOrder) -> None:
    assert SortOrder.parse(name) is expected


@pytest.mark.parametrize("bad", ["", "up", "0", 2, -1, True])
def test_sort_order_rejects(bad: str | int) -> None:
    with pytest.raises(ValueError):
        SortOrder.parse(bad)


@pytest.mark.parametrize(("name", "expected"), [
    ("best", Operator.BEST), ("SET", Operator.SET), ("incr", Operator.INCREMENT), ("increment", Operator.INCREMENT),
    ("decr", Operator.DECREMENT), ("Decrement", Operator.DECREMENT), (2, Operator.INCREMENT)])
def test_operator_parse(name: str | int, expected: Operator) -> None:
    assert Operator.parse(name) is expected


@pytest.mark.parametrize("bad", ["", "no_override", "max", 4, -1, False])
def test_operator_rejects(bad: str | int) -> None:
    with pytest.raises(ValueError):
        Operator.parse(bad)


def test_override_and_operator_map_both_ways() -> None:
    for operator in Operator:
        assert operator.override.operator is operator
    assert OperatorOverride.NO_OVERRIDE.operator is None
    assert OperatorOverride.INCREMENT.operator is Operator.INCREMENT
    assert Operator.BEST.override is OperatorOverride.BEST


@pytest.mark.parametrize(("value", "expected"), [
    (None, OperatorOverride.NO_OVERRIDE), ("", OperatorOverride.NO_OVERRIDE),
    (" no_override ", OperatorOverride.NO_OVERRIDE), ("incr", OperatorOverride.INCREMENT),
    ("Best", OperatorOverride.BEST), (4, OperatorOverride.DECREMENT)])
def test_override_parse(value: str | int | None, expected: OperatorOverride) -> None:
    assert OperatorOverride.parse(value) is expected


@pytest.mark.parametrize("bad", ["max", 5, -1, True])
def test_override_rejects(bad: str | int) -> None:
    with pytest.raises(ValueError):
        OperatorOverride.parse(bad)
