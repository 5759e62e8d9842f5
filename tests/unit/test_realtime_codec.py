"""Envelopes as Nakama's protojson and protobuf codecs write and read them."""

from __future__ import annotations

import json

import pytest

from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.codec import Format, MalformedEnvelope, decode, encode


def test_json_uses_proto_names_and_leaves_zero_values_out() -> None:
    envelope = Envelope(cid="7")
    envelope.match_data.op_code = 12
    envelope.match_data.data = b"\x00\x01"
    envelope.match_data.presence.user_id = "u"
    text = encode(envelope, Format.JSON)
    assert isinstance(text, str)
    # int64 as a string, bytes as base64, false/empty fields absent.
    assert json.loads(text) == {"cid": "7", "match_data": {"op_code": "12", "data": "AAE=",
                                                           "presence": {"user_id": "u"}}}


def test_set_wrappers_are_written_even_at_zero() -> None:
    envelope = Envelope()
    envelope.channel_message.code.value = 0
    envelope.channel_message.persistent.value = False
    assert json.loads(encode(envelope, Format.JSON)) == {"channel_message": {"code": 0, "persistent": False}}


def test_json_accepts_camel_case_and_proto_names() -> None:
    envelope = decode('{"cid":"1","channelJoin":{"target":"lobby","type":1,"persistence":true}}', Format.JSON)
    assert envelope.channel_join.target == "lobby" and envelope.channel_join.persistence.value is True
    assert decode('{"status_follow":{"user_ids":["a"]}}', Format.JSON).status_follow.user_ids == ["a"]


@pytest.mark.parametrize("frame", ['{"unknown_field":{}}', "[1]", "nope", '{"cid":5}', b"{}"])
def test_malformed_json_frames(frame: str | bytes) -> None:
    with pytest.raises(MalformedEnvelope):
        decode(frame, Format.JSON)


def test_protobuf_round_trip_and_refusals() -> None:
    envelope = Envelope(cid="9")
    envelope.rpc.id = "echo"
    data = encode(envelope, Format.PROTOBUF)
    assert isinstance(data, bytes) and decode(data, Format.PROTOBUF) == envelope
    with pytest.raises(MalformedEnvelope):
        decode(b"\xff\xff\xff", Format.PROTOBUF)
    with pytest.raises(MalformedEnvelope):
        decode("text", Format.PROTOBUF)
