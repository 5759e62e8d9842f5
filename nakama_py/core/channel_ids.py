"""Chat channel identities: Nakama's channel ids and the streams they name.

A channel id is ``"<mode>.<subject>.<subcontext>.<label>"``: rooms ``2...<name>``, group
channels ``3.<group id>..``, direct messages ``4.<lower user id>.<higher user id>.``.
"""

from __future__ import annotations

import re
import uuid

from nakama_py.core.presence import Stream, StreamMode
from nakama_py.errors import invalid_argument

CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
ROOM_NAME_MAX = 64


def channel_id(stream: Stream) -> str:
    return f"{stream.mode}.{stream.subject}.{stream.subcontext}.{stream.label}"


def channel_fields(stream: Stream) -> dict[str, str]:
    """The fields a channel's envelopes name it by, besides its id."""
    if stream.mode == StreamMode.CHANNEL:
        return {"room_name": stream.label}
    if stream.mode == StreamMode.GROUP:
        return {"group_id": stream.subject}
    if stream.mode == StreamMode.DM:
        return {"user_id_one": stream.subject, "user_id_two": stream.subcontext}
    return {}


def _uuid_or_empty(text: str) -> str:
    if not text:
        return ""
    return str(uuid.UUID(text))


def stream_of_channel(channel: str) -> Stream:
    """The stream a client's channel id names; ``invalid_argument`` when it names none."""
    parts = channel.split(".", 3)
    if len(parts) != 4:
        raise invalid_argument("Invalid channel identifier")
    mode_text, subject, subcontext, label = parts
    try:
        mode = int(mode_text)
        subject, subcontext = _uuid_or_empty(subject), _uuid_or_empty(subcontext)
    except ValueError:
        raise invalid_argument("Invalid channel identifier") from None
    if mode == StreamMode.CHANNEL and label and not subject and not subcontext:
        return Stream(mode, "", "", label)
    if mode == StreamMode.GROUP and subject and not subcontext and not label:
        return Stream(mode, subject)
    if mode == StreamMode.DM and subject and subcontext and not label:
        return Stream(mode, subject, subcontext)
    raise invalid_argument("Invalid channel identifier")
