"""Usernames Nakama generates when a client signs up without choosing one."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters
GENERATED_LENGTH = 10
# Random bytes below this map evenly onto the 52 letters (4 * 52); the rest are drawn again.
_UNBIASED_LIMIT = 256 - 256 % len(_ALPHABET)


def generate_username() -> str:
    """Ten random ASCII letters, like Nakama's ``generateUsername`` (one urandom call, not ten)."""
    letters: list[str] = []
    while len(letters) < GENERATED_LENGTH:
        for byte in secrets.token_bytes(2 * GENERATED_LENGTH):
            if byte < _UNBIASED_LIMIT:
                letters.append(_ALPHABET[byte % len(_ALPHABET)])
                if len(letters) == GENERATED_LENGTH:
                    break
    return "".join(letters)
