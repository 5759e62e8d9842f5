"""Match ids as Nakama writes them, and the listing request checks of ListMatches."""

from __future__ import annotations

import uuid

import pytest

from nakama_py.core.matches import ids
from nakama_py.core.matches.listing import check_list_request
from nakama_py.core.presence import StreamMode
from nakama_py.errors import NakamaError


def test_ids() -> None:
    relayed = ids.parse(f"{uuid.UUID(int=7)}.")
    assert relayed is not None and not relayed.authoritative and relayed.stream.mode == StreamMode.MATCH_RELAYED
    hosted = ids.parse(f"{uuid.UUID(int=7)}.node-a-0123")
    assert hosted is not None and hosted.authoritative and hosted.stream.label == "node-a-0123"
    assert hosted.stream.mode == StreamMode.MATCH_AUTHORITATIVE and str(hosted).endswith(".node-a-0123")
    for bad in ("", "nope", str(uuid.UUID(int=7)), "x.y"):
        assert ids.parse(bad) is None
    assert ids.new_relayed("lobby") == ids.new_relayed("lobby") != ids.new_relayed("other")
    assert str(ids.new_relayed("lobby")) == f"{uuid.uuid5(uuid.NAMESPACE_DNS, 'lobby')}."
    assert ids.new_relayed() != ids.new_relayed()


@pytest.mark.parametrize("args, message", [
    ((0, None, None, None, None, None), "Invalid limit - limit must be between 1 and 100."),
    ((101, None, None, None, None, None), "Invalid limit - limit must be between 1 and 100."),
    ((5, False, "x", None, None, None), "Label filtering is not supported for non-authoritative matches."),
    ((5, False, None, None, None, "*"), "Query filtering is not supported for non-authoritative matches."),
    ((5, None, None, -1, None, None), "Minimum size must be 0 or above."),
    ((5, None, None, None, -1, None), "Maximum size must be 0 or above."),
    ((5, None, None, 3, 2, None),
     "Maximum size must be greater than or equal to minimum size when both are specified."),
])
def test_list_request_checks(args: tuple[int, bool | None, str | None, int | None, int | None, str | None],
                             message: str) -> None:
    with pytest.raises(NakamaError) as error:
        check_list_request(*args)
    assert error.value.message == message and error.value.code == 3


def test_list_request_default_limit() -> None:
    assert check_list_request(None, None, None, None, None, None) == 10
    assert check_list_request(1, True, "x", 0, 0, "+label.a:1") == 1
