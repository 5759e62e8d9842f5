"""Tokens of Nakama's query string (Bluge's query-string lexer, rule for rule).

A term ends at an unescaped space, ``:``, ``^`` or ``~``; ``"`` opens a phrase that only an unescaped
``"`` closes; ``+ - : > < =`` are single-character operators where a token starts (inside a term a
``-`` is just a character); ``^`` and ``~`` read up to the next space. A backslash escapes one of
Bluge's reserved characters and is kept before any other. Parentheses have no meaning (they are part
of a term), as in Nakama.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto


class QuerySyntaxError(ValueError):
    """The query text is not valid query syntax (Nakama refuses such a query)."""


class Kind(Enum):
    STRING = auto()
    NUMBER = auto()
    PHRASE = auto()
    PLUS = auto()
    MINUS = auto()
    COLON = auto()
    GREATER = auto()
    LESS = auto()
    EQUAL = auto()
    BOOST = auto()
    TILDE = auto()


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    position: int


RESERVED = set('+-=&|><!(){}[]^"~*?:\\/ ')
_OPERATORS = {"+": Kind.PLUS, "-": Kind.MINUS, ":": Kind.COLON, ">": Kind.GREATER, "<": Kind.LESS, "=": Kind.EQUAL}
_TERM_ENDS = {" ", ":", "^", "~"}


def _unescape(char: str) -> str:
    return char if char in RESERVED else "\\" + char


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        start = i
        if char == '"':
            i, phrase = _phrase(text, i + 1)
            tokens.append(Token(Kind.PHRASE, phrase, start))
        elif char in _OPERATORS:
            tokens.append(Token(_OPERATORS[char], char, start))
            i += 1
        elif char in "^~":
            i, value = _suffix(text, i + 1)
            tokens.append(Token(Kind.BOOST if char == "^" else Kind.TILDE, value or "1", start))
        elif char == "\\":
            if i + 1 >= n:
                break  # a trailing backslash escapes nothing and is dropped
            i, value, _ = _term(text, i + 2, _unescape(text[i + 1]))
            tokens.append(Token(Kind.STRING, value, start))
        elif char.isspace():
            i += 1
        else:
            # A number is digits with at most one dot and no escape; anything else is a string.
            i, value, escaped = _term(text, i + 1, char)
            kind = Kind.NUMBER if not escaped and _NUMBER.fullmatch(value) else Kind.STRING
            tokens.append(Token(kind, value, start))
    return tokens


_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?")


def _term(text: str, i: int, buf: str) -> tuple[int, str, bool]:
    """A term from i on (buf already read): its end, its text, and whether it held an escape."""
    parts = [buf]
    escaped = False
    n = len(text)
    while i < n:
        char = text[i]
        if char in _TERM_ENDS:
            if char == " ":
                i += 1  # the space is consumed; the others start the next token
            break
        if char == "\\":
            if i + 1 >= n:
                i += 1
                break
            parts.append(_unescape(text[i + 1]))
            escaped = True
            i += 2
            continue
        parts.append(char)
        i += 1
    return i, "".join(parts), escaped


def _phrase(text: str, i: int) -> tuple[int, str]:
    parts: list[str] = []
    n = len(text)
    while i < n:
        char = text[i]
        if char == '"':
            return i + 1, "".join(parts)
        if char == "\\" and i + 1 < n:
            parts.append(_unescape(text[i + 1]))
            i += 2
            continue
        parts.append(char)
        i += 1
    raise QuerySyntaxError("unterminated quote")


def _suffix(text: str, i: int) -> tuple[int, str]:
    # A boost or fuzziness value runs to the next unescaped space.
    parts: list[str] = []
    n = len(text)
    while i < n:
        char = text[i]
        if char == " ":
            return i + 1, "".join(parts)
        if char == "\\" and i + 1 < n:
            parts.append(_unescape(text[i + 1]))
            i += 2
            continue
        parts.append(char)
        i += 1
    return i, "".join(parts)
