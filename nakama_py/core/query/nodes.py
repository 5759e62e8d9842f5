"""The query tree and how each node matches and scores a flat document.

Semantics are Bluge's as Nakama configures it: every field is a keyword (no text analysis), so a
term, phrase or fuzzy term compares a field's whole value; scoring is constant (a matching leaf
scores its boost, a boolean sums what matched, times its own boost). A field a query names without
the document having it, or a value of another kind (a number against a term), does not match.
A term without a field searches Bluge's default field ``_all``, which Nakama never indexes, so it
matches nothing: only a field query can select documents.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from nakama_py.core.query.fields import Document, FieldValue, Scalar


def _values(doc: Document, name: str) -> tuple[Scalar, ...]:
    value: FieldValue | None = doc.get(name)
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    return (value,)


class Node(ABC):
    """One clause. ``evaluate`` is its score when it matches, None when it does not."""

    boost: float

    @abstractmethod
    def evaluate(self, doc: Document) -> float | None: ...

    def constant_score(self) -> float | None:
        """The score of every document this clause matches, when that is one number (None when it
        depends on the document): lets a caller take matches in another order without scoring them."""
        return self.boost


@dataclass(slots=True)
class MatchAll(Node):
    boost: float = 1.0

    def evaluate(self, doc: Document) -> float | None:
        return self.boost


@dataclass(slots=True)
class MatchNone(Node):
    boost: float = 1.0

    def evaluate(self, doc: Document) -> float | None:
        return None

    def constant_score(self) -> float | None:
        return 0.0


@dataclass(slots=True)
class _StringLeaf(Node):
    """A test on a field's keyword values; a leaf without field never matches (see module doc)."""

    field: str
    test: Callable[[str], bool]
    boost: float = 1.0

    def evaluate(self, doc: Document) -> float | None:
        if not self.field:
            return None
        for value in _values(doc, self.field):
            if isinstance(value, str) and self.test(value):
                return self.boost
        return None


@dataclass(slots=True)
class Term(_StringLeaf):
    """A field's exact keyword value (an index can look its documents up directly)."""

    text: str = ""


def term(name: str, text: str, boost: float = 1.0) -> Term:
    return Term(name, text.__eq__, boost, text)


def fuzzy(name: str, text: str, distance: int, boost: float = 1.0) -> _StringLeaf:
    if distance <= 0:
        return term(name, text, boost)
    return _StringLeaf(name, lambda value: _within_edits(text, value, distance), boost)


def wildcard(name: str, pattern: str, boost: float = 1.0) -> _StringLeaf:
    # Bluge's wildcard: "*" any run of characters, "?" one character, the rest literal.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    compiled = re.compile(regex, re.DOTALL)
    return _StringLeaf(name, lambda value: compiled.fullmatch(value) is not None, boost)


def regexp(name: str, pattern: str, boost: float = 1.0) -> _StringLeaf:
    """``/pattern/``: the whole value must match (re.error for an invalid pattern)."""
    compiled = re.compile(pattern)
    return _StringLeaf(name, lambda value: compiled.fullmatch(value) is not None, boost)


def _within_edits(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance of a and b is at most limit (banded, stops early)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


@dataclass(slots=True)
class NumericRange(Node):
    """Numeric values between the bounds; None is unbounded on that side."""

    field: str
    low: float | None
    high: float | None
    include_low: bool = True
    include_high: bool = True
    boost: float = 1.0

    def evaluate(self, doc: Document) -> float | None:
        if not self.field:
            return None
        for value in _values(doc, self.field):
            if isinstance(value, float) and self._inside(value):
                return self.boost
        return None

    def _inside(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (value == self.low and not self.include_low)):
            return False
        return self.high is None or value < self.high or (value == self.high and self.include_high)


@dataclass(slots=True)
class DateRange(Node):
    """Date values between the bounds; None is unbounded on that side."""

    field: str
    start: datetime | None
    end: datetime | None
    include_start: bool = True
    include_end: bool = True
    boost: float = 1.0

    def evaluate(self, doc: Document) -> float | None:
        if not self.field:
            return None
        for value in _values(doc, self.field):
            if isinstance(value, datetime) and self._inside(value):
                return self.boost
        return None

    def _inside(self, value: datetime) -> bool:
        if self.start is not None and (value < self.start or (value == self.start and not self.include_start)):
            return False
        return self.end is None or value < self.end or (value == self.end and self.include_end)


@dataclass(slots=True)
class Boolean(Node):
    """Must: all of them. Must not: none of them. Should: optional when there is a must (each one
    that matches adds to the score), at least one when there is none. Only must-nots: everything
    else matches, scoring 1."""

    must: Sequence[Node] = ()
    should: Sequence[Node] = ()
    must_not: Sequence[Node] = ()
    boost: float = 1.0

    def evaluate(self, doc: Document) -> float | None:
        for clause in self.must_not:
            if clause.evaluate(doc) is not None:
                return None
        total = 0.0
        for clause in self.must:
            score = clause.evaluate(doc)
            if score is None:
                return None
            total += score
        matched_should = False
        for clause in self.should:
            score = clause.evaluate(doc)
            if score is not None:
                matched_should = True
                total += score
        if self.should and not self.must and not matched_should:
            return None
        if not self.must and not self.should:
            if not self.must_not:
                return None
            total = 1.0
        return total * self.boost

    def constant_score(self) -> float | None:
        if self.should:
            return None  # which optional clauses match varies by document
        if not self.must:
            return self.boost if self.must_not else 0.0
        total = 0.0
        for clause in self.must:
            score = clause.constant_score()
            if score is None:
                return None
            total += score
        return total * self.boost

    def required_terms(self) -> list[Term]:
        """The exact-value clauses every match must satisfy (its must clauses that are terms)."""
        return [clause for clause in self.must if isinstance(clause, Term) and clause.field]
