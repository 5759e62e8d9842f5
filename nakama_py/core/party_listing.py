"""Listing parties (``GET /v2/party``, ``nk.party_list``): Nakama's query over party labels.

Each party is a document of the fields Nakama indexes: ``open`` and ``hidden`` ("T"/"F"),
``max_size``, ``create_time`` and the label's fields under ``label.``. Each process matches its own
parties; ``PartyService.list`` asks every process and merges (best score first, then oldest), so a
listing covers the cluster. The cursor is the offset with the query, open filter and limit it was
made for (a cursor used with other parameters is refused, as Nakama does).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from nakama_py.core.party import Party
from nakama_py.core.query import FieldValue, Query, flatten
from nakama_py.core.query.fields import FALSE_KEYWORD, TRUE_KEYWORD


class PartyListError(ValueError):
    """A bad query or cursor (the REST route answers it as Nakama does, the runtime raises it)."""


class PartyListing(NamedTuple):
    party_id: str
    open: bool
    hidden: bool
    max_size: int
    label: str
    score: float
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"party_id": self.party_id, "open": self.open, "hidden": self.hidden, "max_size": self.max_size,
                "label": self.label}


class ListCursor(NamedTuple):
    query: str
    open: bool | None
    offset: int
    limit: int


def canonical_label(label: str) -> str:
    """The label as Nakama lists it: the JSON object re-encoded (keys sorted), ``{}`` when empty."""
    return orjson.dumps(orjson.loads(label or "{}"), option=orjson.OPT_SORT_KEYS).decode()


def document(party: Party) -> dict[str, FieldValue]:
    doc: dict[str, FieldValue] = dict(flatten(orjson.loads(party.label or "{}"), "label"))
    doc["open"] = TRUE_KEYWORD if party.open else FALSE_KEYWORD
    doc["hidden"] = TRUE_KEYWORD if party.hidden else FALSE_KEYWORD
    doc["max_size"] = float(party.max_size)
    doc["create_time"] = datetime.fromtimestamp(party.created_at, UTC)
    return doc


def matching(parties: Iterable[Party], query: Query, open: bool | None, show_hidden: bool) -> list[PartyListing]:
    """This process's parties that the query and filters accept."""
    found = []
    for party in parties:
        if party.stopped or (open is not None and party.open != open) or (party.hidden and not show_hidden):
            continue
        doc = document(party)
        if not query.matches(doc):
            continue
        found.append(PartyListing(party.id, party.open, party.hidden, party.max_size, canonical_label(party.label),
                                  query.score(doc), party.created_at))
    return found


def ordered(listings: Iterable[PartyListing]) -> list[PartyListing]:
    return sorted(listings, key=lambda p: (-p.score, p.created_at, p.party_id))


def encode_cursor(cursor: ListCursor) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(cursor))).decode().rstrip("=")


def decode_cursor(text: str, query: str, open: bool | None, limit: int) -> ListCursor:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        cursor = ListCursor(str(raw[0]), raw[1], int(raw[2]), int(raw[3]))
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, IndexError):
        raise PartyListError("invalid cursor") from None
    if cursor.query != query:
        raise PartyListError("invalid cursor: param query mismatch")
    if cursor.limit != limit:
        raise PartyListError("invalid cursor: param limit mismatch")
    if cursor.open != open:
        raise PartyListError("invalid cursor: param open mismatch")
    return cursor
