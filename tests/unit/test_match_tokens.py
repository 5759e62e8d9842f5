from __future__ import annotations

import pytest

from nakama_py.core import match_tokens

KEY = "defaultencryptionkey"


def test_a_token_names_its_match() -> None:
    token = match_tokens.issue("0b6f2d6c-1c1d-4b8e-9d3e-6c5c3a2f1e0d.", KEY, 30)
    assert match_tokens.verify(token, KEY) == "0b6f2d6c-1c1d-4b8e-9d3e-6c5c3a2f1e0d."


def test_an_expired_token_is_refused() -> None:
    token = match_tokens.issue("m.", KEY, 30, now=1_000)
    with pytest.raises(match_tokens.InvalidMatchToken):
        match_tokens.verify(token, KEY)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = match_tokens.issue("m.", "another-key", 30)
    with pytest.raises(match_tokens.InvalidMatchToken):
        match_tokens.verify(token, KEY)


def test_garbage_is_refused() -> None:
    with pytest.raises(match_tokens.InvalidMatchToken):
        match_tokens.verify("not-a-token", KEY)
