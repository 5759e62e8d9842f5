"""Nakama's query language (match labels, matchmaker queries): parse once, match many documents.

``parse_query(text)`` gives a ``Query``; ``flatten(json_value, prefix)`` gives the document it reads
(dotted field names, as Nakama indexes them). See parser.py for the syntax, nodes.py for semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

from nakama_py.core.query.fields import Document, FieldValue, flatten
from nakama_py.core.query.lexer import QuerySyntaxError
from nakama_py.core.query.nodes import Boolean, Node, Term
from nakama_py.core.query.parser import parse_tree

__all__ = ["Document", "FieldValue", "Query", "QuerySyntaxError", "Term", "flatten", "parse_query"]


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query; immutable, so one parse serves every document and every task."""

    text: str
    root: Node

    def matches(self, doc: Document) -> bool:
        return self.root.evaluate(doc) is not None

    def score(self, doc: Document) -> float:
        """The document's score (0.0 when it does not match); higher is a better match."""
        return self.root.evaluate(doc) or 0.0

    def evaluate(self, doc: Document) -> float | None:
        """The score when the document matches, None when it does not (one pass for both)."""
        return self.root.evaluate(doc)

    @property
    def constant_score(self) -> float | None:
        """The one score every match has, when the query's score cannot vary (no optional clauses)."""
        return self.root.constant_score()

    @property
    def required_terms(self) -> list[Term]:
        """Exact field values every match must have (``+field:value``), for looking candidates up in an index."""
        return self.root.required_terms() if isinstance(self.root, Boolean) else []


def parse_query(text: str) -> Query:
    """Parse ``text``; raises QuerySyntaxError with what is wrong."""
    return Query(text, parse_tree(text))
