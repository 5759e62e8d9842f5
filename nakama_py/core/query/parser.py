"""Nakama's query string to a query tree (Bluge's query-string grammar, with Nakama's options).

    query  := part+                    a boolean of its parts
    part   := ["+" | "-"] base ["^" boost]     must / must not / should
    base   := STRING ["~" fuzz] | NUMBER | PHRASE
            | field ":" (STRING ["~" fuzz] | ["-"] NUMBER | PHRASE
                         | (">" | ">=" | "<" | "<=") (["-"] NUMBER | PHRASE date))

A value with ``*`` or ``?`` is a wildcard, ``/.../`` a regular expression; a number matches the
keyword of its text or the numeric value; a range on a phrase is a date range (RFC 3339). Nakama
special-cases the whole query ``*`` (everything); an empty query matches nothing.
"""

from __future__ import annotations

import re

from nakama_py.core.query.fields import parse_date_time
from nakama_py.core.query.lexer import Kind, QuerySyntaxError, Token, tokenize
from nakama_py.core.query.nodes import (
    Boolean,
    DateRange,
    MatchAll,
    MatchNone,
    Node,
    NumericRange,
    fuzzy,
    regexp,
    term,
    wildcard,
)

MAX_FUZZINESS = 2  # Bluge refuses a larger edit distance


def parse_tree(text: str) -> Node:
    if text == "":
        return MatchNone()
    if text == "*":
        return MatchAll()
    return _Parser(text, tokenize(text)).parse()


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.at = 0

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError("syntax error: empty query")
        must: list[Node] = []
        should: list[Node] = []
        must_not: list[Node] = []
        while self.at < len(self.tokens):
            target = should
            if self._accept(Kind.PLUS):
                target = must
            elif self._accept(Kind.MINUS):
                target = must_not
            node = self._base()
            boost = self._accept(Kind.BOOST)
            if boost is not None:
                node.boost = _float(boost.text, "invalid boost value")
            target.append(node)
        return Boolean(must=must, should=should, must_not=must_not)

    def _base(self) -> Node:
        token = self._next("a term, number or phrase")
        if token.kind is Kind.NUMBER:
            return _number("", token.text)
        if token.kind is Kind.PHRASE:
            return term("", token.text)
        if token.kind is not Kind.STRING:
            raise self._unexpected(token)
        if self._accept(Kind.COLON) is None:
            return self._string("", token.text)
        return self._field_value(token.text)

    def _field_value(self, field: str) -> Node:
        token = self._next(f"a value for field {field!r}")
        if token.kind is Kind.STRING:
            return self._string(field, token.text)
        if token.kind is Kind.PHRASE:
            return term(field, token.text)
        if token.kind in (Kind.NUMBER, Kind.MINUS):
            return _number(field, self._signed_number(token))
        if token.kind in (Kind.GREATER, Kind.LESS):
            inclusive = self._accept(Kind.EQUAL) is not None
            bound = self._next(f"a number or date after {token.text!r}")
            greater = token.kind is Kind.GREATER
            if bound.kind is Kind.PHRASE:
                when = parse_date_time(bound.text, zone_required=True)
                if when is None:
                    raise QuerySyntaxError(f"invalid time: {bound.text!r} is not an RFC 3339 date")
                if greater:
                    return DateRange(field, when, None, include_start=inclusive)
                return DateRange(field, None, when, include_end=inclusive)
            value = _float(self._signed_number(bound), "error parsing number")
            if greater:
                return NumericRange(field, value, None, include_low=inclusive)
            return NumericRange(field, None, value, include_high=inclusive)
        raise self._unexpected(token)

    def _string(self, field: str, text: str) -> Node:
        tilde = self._accept(Kind.TILDE)
        if tilde is not None:
            distance = int(_float(tilde.text, "invalid fuzziness value"))
            if distance > MAX_FUZZINESS:
                raise QuerySyntaxError(f"fuzziness exceeds max ({MAX_FUZZINESS})")
            return fuzzy(field, text, distance)
        if len(text) > 1 and text.startswith("/") and text.endswith("/"):
            try:
                return regexp(field, text[1:-1])
            except re.error as exc:
                raise QuerySyntaxError(f"invalid regular expression {text!r}: {exc}") from None
        if "*" in text or "?" in text:
            return wildcard(field, text)
        return term(field, text)

    def _signed_number(self, token: Token) -> str:
        if token.kind is Kind.MINUS:
            number = self._next("a number after '-'")
            if number.kind is not Kind.NUMBER:
                raise self._unexpected(number)
            return "-" + number.text
        if token.kind is not Kind.NUMBER:
            raise self._unexpected(token)
        return token.text

    def _accept(self, kind: Kind) -> Token | None:
        if self.at < len(self.tokens) and self.tokens[self.at].kind is kind:
            self.at += 1
            return self.tokens[self.at - 1]
        return None

    def _next(self, expected: str) -> Token:
        if self.at >= len(self.tokens):
            raise QuerySyntaxError(f"syntax error: query ends where {expected} was expected")
        self.at += 1
        return self.tokens[self.at - 1]

    def _unexpected(self, token: Token) -> QuerySyntaxError:
        return QuerySyntaxError(f"syntax error: unexpected {token.text!r} at position {token.position}")


def _number(field: str, text: str) -> Node:
    # Bluge matches a number both as the keyword of its text and as a numeric value.
    value = _float(text, "error parsing number")
    return Boolean(should=[term(field, text), NumericRange(field, value, value)])


def _float(text: str, message: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise QuerySyntaxError(f"{message}: {text!r}") from None
