"""Nakama's query language (match labels, matchmaker queries): parse once, match many documents.

``parse_query(text)`` gives a ``Query``; ``flatten(json_value, prefix)`` gives the document it reads
(dotted field names, as Nakama indexes them). See parser.py for the syntax, nodes.py for semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

from nakama_py.core.query.fields import Document, FieldValue, flatten
from nakama_py.core.query.lexer import QuerySyntaxError
from nakama_py.core.query.nodes import Node
from nakama_py.core.query.parser import parse_tree

__all__ = ["Document", "FieldValue", "Query", "QuerySyntaxError", "flatten", "parse_query"]


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


def parse_query(text: str) -> Query:
    """Parse ``text``; raises QuerySyntaxError with what is wrong."""
    return Query(text, parse_tree(text))
