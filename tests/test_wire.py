"""The wire conventions as pure functions: encoding, field names, query parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import MultiDict

from nakama_py.errors import Code, NakamaError
from nakama_py.wire import encoding, request
from nakama_py.wire.status import http_status


def test_timestamps_are_rfc3339_utc() -> None:
    assert encoding.timestamp(datetime(2020, 10, 25, 17, 49, 58, tzinfo=UTC)) == "2020-10-25T17:49:58Z"
    assert encoding.timestamp(datetime(2020, 10, 25, 17, 49, 58, 120000, tzinfo=UTC)) == "2020-10-25T17:49:58.120Z"
    assert encoding.timestamp(datetime(2020, 10, 25, 17, 49, 58, 123456, tzinfo=UTC)) == \
        "2020-10-25T17:49:58.123456Z"
    assert encoding.timestamp(datetime(1970, 1, 1, tzinfo=UTC)) is None  # epoch means unset


def test_zero_values_are_left_out() -> None:
    message = {"created": False, "score": encoding.i64(0), "rank": encoding.i64(3), "records": [],
               "name": "", "num_score": 0, "metadata": "{}", "owner_records": [{"a": 1}], "flag": True}
    assert encoding.compact(message) == {"rank": "3", "metadata": "{}", "owner_records": [{"a": 1}], "flag": True}


def test_go_style_escaping() -> None:
    assert encoding.dumps_go({"payload": "<a>&"}) == b'{"payload":"\\u003ca\\u003e\\u0026"}'


def test_fields_by_snake_or_camel_name() -> None:
    body = {"refreshToken": "r", "display_name": "d"}
    assert request.get_str(body, "refresh_token") == "r"
    assert request.get_str(body, "display_name") == "d"
    assert request.get_opt_str(body, "avatar_url") is None


def test_int64_accepts_numbers_and_strings() -> None:
    assert request.get_int({"score": "10"}, "score") == 10
    assert request.get_int({"score": 10}, "score") == 10
    assert request.get_int({}, "score", 7) == 7
    for bad in ("x", True, [1], 2**63):
        with pytest.raises(NakamaError) as caught:
            request.get_int({"score": bad}, "score")
        assert caught.value.code == Code.INVALID_ARGUMENT


def test_string_maps_must_hold_strings() -> None:
    assert request.get_str_map({"vars": {"a": "b"}}, "vars") == {"a": "b"}
    with pytest.raises(NakamaError):
        request.get_str_map({"vars": {"a": 1}}, "vars")


def test_query_booleans_follow_go() -> None:
    for text in ("1", "t", "T", "TRUE", "true", "True"):
        assert request.query_bool(MultiDict(create=text), "create") is True
    for text in ("0", "f", "F", "FALSE", "false", "False"):
        assert request.query_bool(MultiDict(create=text), "create") is False
    assert request.query_bool(MultiDict(), "create") is None
    assert request.query_bool(MultiDict(create=""), "create") is None
    with pytest.raises(NakamaError):
        request.query_bool(MultiDict(create="yes"), "create")


def test_repeated_query_keys_and_camel_names() -> None:
    query = MultiDict([("owner_ids", "a"), ("owner_ids", "b"), ("ownerIds", "c")])
    assert request.query_values(query, "owner_ids") == ["a", "b", "c"]


@pytest.mark.parametrize(("code", "status"), [(0, 200), (3, 400), (5, 404), (6, 409), (7, 403), (8, 429),
                                              (9, 400), (12, 501), (13, 500), (14, 503), (16, 401), (99, 500)])
def test_grpc_codes_map_to_http(code: int, status: int) -> None:
    assert http_status(code) == status


def test_out_of_range_codes_become_internal() -> None:
    assert NakamaError("x", 0).code == Code.INTERNAL
    assert NakamaError("x", 17).code == Code.INTERNAL
    assert NakamaError("x", 16).code == Code.UNAUTHENTICATED
