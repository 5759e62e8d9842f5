"""Envelopes to and from WebSocket frames, as Nakama's protojson and protobuf codecs write them.

JSON: proto field names, enums as numbers, zero values left out, int64 as strings; unknown
fields are an error (Nakama's unmarshaler keeps ``DiscardUnknown`` off). Go's protojson varies
its whitespace on purpose, so clients never depend on the exact bytes.
"""

from __future__ import annotations

from enum import Enum

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from nakama_py.proto.realtime_pb2 import Envelope


class Format(Enum):
    JSON = "json"
    PROTOBUF = "protobuf"


class MalformedEnvelope(Exception):
    """A frame that is not an envelope in the session's format."""


def decode(data: bytes | str, fmt: Format) -> Envelope:
    envelope = Envelope()
    try:
        if fmt is Format.PROTOBUF:
            if not isinstance(data, bytes):
                raise MalformedEnvelope("expected a binary frame")
            envelope.ParseFromString(data)
        else:
            if not isinstance(data, str):
                raise MalformedEnvelope("expected a text frame")
            json_format.ParseDict(orjson.loads(data), envelope)
    except (DecodeError, json_format.ParseError, orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        raise MalformedEnvelope(str(exc)) from None
    return envelope


def encode(envelope: Envelope, fmt: Format) -> bytes | str:
    if fmt is Format.PROTOBUF:
        return envelope.SerializeToString()
    return to_json(envelope)


def to_json(envelope: Envelope) -> str:
    message = json_format.MessageToDict(envelope, preserving_proto_field_name=True, use_integers_for_enums=True)
    return orjson.dumps(message).decode()
