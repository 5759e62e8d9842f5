"""Nakama's validation rules for account identifiers, usernames, emails and passwords.

Lengths are counted in UTF-8 bytes, as Go's ``len`` does. The character classes
are Go RE2's POSIX classes, which are ASCII-only: ``[[:cntrl:]]`` is 0x00-0x1F
and 0x7F, ``[[:space:]]`` adds the ASCII space.
"""

from __future__ import annotations

import re

from nakama_py.errors import invalid_argument

# invalidCharsRegex: control or whitespace characters anywhere.
_INVALID_CHARS = re.compile(r"[\x00-\x1f\x7f ]")
# invalidUsernameRegex is POSIX ``([[:cntrl:]]|[[\t\n\r\f\v]])+``. RE2 reads the second
# alternative as the class {[, \t, \n, \r, \f, \v} followed by a literal "]", so besides
# control characters it rejects the two-character sequence "[]" (and not a plain space).
_INVALID_USERNAME = re.compile(r"[\x00-\x1f\x7f]|\[\]")
_EMAIL = re.compile(r".+@.+\..+")

USERNAME_MAX_BYTES = 128
PASSWORD_MIN_BYTES = 8
# bcrypt reads at most 72 bytes of a password; Go refuses to hash longer ones.
BCRYPT_MAX_BYTES = 72


def byte_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def has_invalid_chars(text: str) -> bool:
    return _INVALID_CHARS.search(text) is not None


def is_invalid_username(username: str) -> bool:
    return _INVALID_USERNAME.search(username) is not None


def is_email_format(email: str) -> bool:
    return _EMAIL.fullmatch(email) is not None


def check_custom_id(custom_id: str) -> None:
    """The authenticate route's rules for a custom ID."""
    if not custom_id:
        raise invalid_argument("Custom ID is required.")
    if has_invalid_chars(custom_id):
        raise invalid_argument("Custom ID invalid, no spaces or control characters allowed.")
    if not 6 <= byte_len(custom_id) <= 128:
        raise invalid_argument("Custom ID invalid, must be 6-128 bytes.")


def check_link_custom_id(custom_id: str) -> None:
    """The link route words its messages differently from the authenticate route."""
    if not custom_id:
        raise invalid_argument("Custom ID is required.")
    if has_invalid_chars(custom_id):
        raise invalid_argument("Invalid custom ID, no spaces or control characters allowed.")
    if not 6 <= byte_len(custom_id) <= 128:
        raise invalid_argument("Invalid custom ID, must be 6-128 bytes.")


def check_device_id(device_id: str) -> None:
    """Device ID rules, the same for authenticate and link."""
    if not device_id:
        raise invalid_argument("Device ID is required.")
    if has_invalid_chars(device_id):
        raise invalid_argument("Device ID invalid, no spaces or control characters allowed.")
    if not 10 <= byte_len(device_id) <= 128:
        raise invalid_argument("Device ID invalid, must be 10-128 bytes.")


def check_email_address(email: str) -> None:
    """Authenticate-route email checks, in Nakama's order (the email is non-empty)."""
    if has_invalid_chars(email):
        raise invalid_argument("Invalid email address, no spaces or control characters allowed.")
    if not is_email_format(email):
        raise invalid_argument("Invalid email address format.")
    if not 10 <= byte_len(email) <= 255:
        raise invalid_argument("Invalid email address, must be 10-255 bytes.")


def check_password(password: str) -> None:
    if byte_len(password) < PASSWORD_MIN_BYTES:
        raise invalid_argument("Password must be at least 8 characters long.")


def check_link_email(email: str, password: str) -> None:
    """The link route checks the password length before the email's format and length."""
    if not email or not password:
        raise invalid_argument("Email address and password is required.")
    if has_invalid_chars(email):
        raise invalid_argument("Invalid email address, no spaces or control characters allowed.")
    check_password(password)
    if not is_email_format(email):
        raise invalid_argument("Invalid email address format.")
    if not 10 <= byte_len(email) <= 255:
        raise invalid_argument("Invalid email address, must be 10-255 bytes.")


def clean_email(email: str) -> str:
    """Emails are stored and looked up lower-cased."""
    return email.lower()


def check_username(username: str) -> None:
    """A username the client chose (an empty one is generated instead, by the caller)."""
    if is_invalid_username(username):
        raise invalid_argument("Username invalid, no spaces or control characters allowed.")
    if byte_len(username) > USERNAME_MAX_BYTES:
        raise invalid_argument("Username invalid, must be 1-128 bytes.")


def check_username_length(username: str) -> None:
    """UpdateAccount's first check on a username that is present."""
    if not 1 <= byte_len(username) <= USERNAME_MAX_BYTES:
        raise invalid_argument("Username invalid, must be 1-128 bytes.")
