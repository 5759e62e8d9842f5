"""Leaderboard sort orders and score operators: Nakama's numbers and names, in one place.

Neutral ground shared by db (the ``leaderboard.operator``/``sort_order`` columns), core
(the rules), api (the REST write's operator override) and the runtime's ``nk`` (names a
module author passes). Nakama keeps two numberings of operators: the stored one
(``Operator``: 0 best .. 3 decr) and the API enum of write overrides (``OperatorOverride``,
``nakama.api.Operator``: 0 no override, then 1 best .. 4 decr).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal, TypeVar

_E = TypeVar("_E", bound=IntEnum)


class SortOrder(IntEnum):
    ASCENDING = 0
    DESCENDING = 1

    @classmethod
    def parse(cls, value: str | int) -> SortOrder:
        """A runtime argument: ``asc``/``ascending``/``desc``/``descending`` (any case) or 0/1.
        ValueError for anything else."""
        if isinstance(value, str):
            return _named(_SORT_NAMES, value)
        if isinstance(value, bool):
            raise ValueError(f"not a sort order: {value!r}")
        return cls(value)

    @property
    def label(self) -> Literal["asc", "desc"]:
        """The short name modules pass and see."""
        return "asc" if self is SortOrder.ASCENDING else "desc"


class Operator(IntEnum):
    """How a write combines with the stored score; the database encoding."""

    BEST = 0
    SET = 1
    INCREMENT = 2
    DECREMENT = 3

    @classmethod
    def parse(cls, value: str | int) -> Operator:
        """A runtime argument: ``best``, ``set``, ``incr``/``increment``, ``decr``/``decrement``
        (any case) or the stored number. ValueError for anything else."""
        if isinstance(value, str):
            return _named(_OPERATOR_NAMES, value)
        if isinstance(value, bool):
            raise ValueError(f"not an operator: {value!r}")
        return cls(value)

    @property
    def override(self) -> OperatorOverride:
        return OperatorOverride(self + 1)

    @property
    def label(self) -> Literal["best", "set", "incr", "decr"]:
        """The short name modules pass and see."""
        return _OPERATOR_LABELS[self]


class OperatorOverride(IntEnum):
    """Nakama's API enum ``nakama.api.Operator``: a write's override of the board's operator."""

    NO_OVERRIDE = 0
    BEST = 1
    SET = 2
    INCREMENT = 3
    DECREMENT = 4

    @property
    def operator(self) -> Operator | None:
        """The operator it selects; None for no override."""
        return None if self is OperatorOverride.NO_OVERRIDE else Operator(self - 1)

    @classmethod
    def parse(cls, value: str | int | None) -> OperatorOverride:
        """A runtime argument: None, ``""`` or ``no_override``, an operator name, or the API number.
        ValueError for anything else."""
        if value is None:
            return cls.NO_OVERRIDE
        if isinstance(value, str):
            name = value.strip().lower()
            return cls.NO_OVERRIDE if name in ("", "no_override") else _named(_OPERATOR_NAMES, name).override
        if isinstance(value, bool):
            raise ValueError(f"not an operator override: {value!r}")
        return cls(value)


_SORT_NAMES: dict[str, SortOrder] = {"asc": SortOrder.ASCENDING, "ascending": SortOrder.ASCENDING,
                                     "desc": SortOrder.DESCENDING, "descending": SortOrder.DESCENDING}
_OPERATOR_NAMES: dict[str, Operator] = {"best": Operator.BEST, "set": Operator.SET,
                                        "incr": Operator.INCREMENT, "increment": Operator.INCREMENT,
                                        "decr": Operator.DECREMENT, "decrement": Operator.DECREMENT}

_OPERATOR_LABELS: dict[Operator, Literal["best", "set", "incr", "decr"]] = {
    Operator.BEST: "best", Operator.SET: "set", Operator.INCREMENT: "incr", Operator.DECREMENT: "decr"}


def _named(names: dict[str, _E], value: str) -> _E:
    try:
        return names[value.lower()]
    except KeyError:
        raise ValueError(f"unknown name {value!r}") from None
