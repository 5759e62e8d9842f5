"""Verifying identities vouched for by social providers.

Only a verified identity may sign in. Facebook Instant Games sign the player info
with the app secret, which is checked here without any network access. The other
providers (Apple, Facebook, Game Center, Google, Steam) can only be verified by
calling the provider's service; nakama-py does not call out, so these fail closed
and the client gets Nakama's "Could not authenticate ... profile." answer, as from
a Nakama server that cannot reach the provider.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class ProviderError(Exception):
    """The provider did not vouch for the identity."""


@dataclass(frozen=True, slots=True)
class SocialProfile:
    id: str
    email: str = ""
    display_name: str = ""
    avatar_url: str = ""


class SocialVerifier(Protocol):
    async def apple(self, bundle_id: str, token: str) -> SocialProfile: ...

    async def facebook(self, app_id: str, token: str) -> SocialProfile: ...

    async def facebook_instant_game(self, app_secret: str, signed_player_info: str) -> SocialProfile: ...

    async def gamecenter(self, player_id: str, bundle_id: str, timestamp: int, salt: str, signature: str,
                         public_key_url: str) -> SocialProfile: ...

    async def google(self, token: str) -> SocialProfile: ...

    async def steam(self, publisher_key: str, app_id: int, token: str) -> SocialProfile: ...


_HMAC_HASHES: dict[str, Callable[[], Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
    "HMAC-SHA256": hashlib.sha256,  # the name Facebook writes; Nakama maps it to HS256
}


def _raw_urlsafe_b64decode(segment: str) -> bytes:
    """Unpadded base64url, as Go's base64.RawURLEncoding reads it."""
    if "=" in segment:
        raise ProviderError("padded base64 segment")
    padded = segment.replace("-", "+").replace("_", "/") + "=" * (-len(segment) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError("invalid base64 segment") from None


def _member(payload: dict[str, Any], name: str) -> Any:
    # Go's encoding/json matches struct fields case-insensitively when no exact key exists.
    if name in payload:
        return payload[name]
    for key, value in payload.items():
        if key.lower() == name:
            return value
    return None


def facebook_instant_game_player_id(signed_player_info: str, app_secret: str) -> str:
    """The player ID of a Facebook Instant Game ``signature.payload``, after checking its HMAC."""
    parts = signed_player_info.split(".")
    if len(parts) != 2:
        raise ProviderError("malformed signedPlayerInfo")
    signature_b64, payload_b64 = parts
    try:
        payload = json.loads(_raw_urlsafe_b64decode(payload_b64))
    except ValueError:
        raise ProviderError("payload is not JSON") from None
    if not isinstance(payload, dict):
        raise ProviderError("payload is not an object")
    algorithm, player_id = _member(payload, "algorithm"), _member(payload, "player_id")
    issued_at, request_payload = _member(payload, "issued_at"), _member(payload, "request_payload")
    if not isinstance(algorithm, str | None) or not isinstance(player_id, str | None) \
            or not isinstance(request_payload, str | None) \
            or not (issued_at is None or (isinstance(issued_at, int) and not isinstance(issued_at, bool))):
        raise ProviderError("payload field of the wrong type")
    digest = _HMAC_HASHES.get(algorithm or "")
    if digest is None:
        raise ProviderError("invalid signing method")
    signature = _raw_urlsafe_b64decode(signature_b64)
    # Nakama would check an HMAC keyed with an empty secret, which anyone can forge: refuse.
    if not app_secret:
        raise ProviderError("social.facebook_instant_game.app_secret is not configured")
    expected = hmac.new(app_secret.encode(), payload_b64.encode(), digest).digest()
    if not hmac.compare_digest(signature, expected):
        raise ProviderError("signature is invalid")
    if not player_id:
        raise ProviderError("no player_id")
    return player_id


class OfflineSocialVerifier:
    """Verifies what can be verified locally; refuses the identities only a provider's service can vouch for."""

    async def apple(self, bundle_id: str, token: str) -> SocialProfile:
        raise ProviderError("Apple ID tokens are verified against Apple's keys, which nakama-py does not fetch")

    async def facebook(self, app_id: str, token: str) -> SocialProfile:
        raise ProviderError("Facebook tokens are verified by Facebook's Graph API, which nakama-py does not call")

    async def facebook_instant_game(self, app_secret: str, signed_player_info: str) -> SocialProfile:
        return SocialProfile(facebook_instant_game_player_id(signed_player_info, app_secret))

    async def gamecenter(self, player_id: str, bundle_id: str, timestamp: int, salt: str, signature: str,
                         public_key_url: str) -> SocialProfile:
        raise ProviderError("Game Center signatures need Apple's public key, which nakama-py does not fetch")

    async def google(self, token: str) -> SocialProfile:
        raise ProviderError("Google ID tokens are verified against Google's keys, which nakama-py does not fetch")

    async def steam(self, publisher_key: str, app_id: int, token: str) -> SocialProfile:
        raise ProviderError("Steam tickets are verified by the Steam Web API, which nakama-py does not call")
