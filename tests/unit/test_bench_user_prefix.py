"""The bench's users are custom ids "<prefix>-<n>": a prefix too short for Nakama's 6-byte minimum is
refused when the options are read, not by the server halfway through the setup."""

from __future__ import annotations

import pytest

from nakama_py.bench.options import parse_options


def test_a_short_user_prefix_is_refused_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_options(["mix", "--user-prefix", "cc"])
    assert "custom ids must be 6 bytes or more" in capsys.readouterr().err


def test_a_four_character_prefix_makes_valid_ids() -> None:
    assert parse_options(["mix", "--user-prefix", "conn"]).user_prefix == "conn"
