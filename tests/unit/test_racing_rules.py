"""The racing module's pure parts: cycle arithmetic, payload rules and settings, without a server."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nakama_py.runtime import Code, NakamaError
from tests.support.racing_module import racing

cycles_mod = racing("cycles")
payloads = racing("payloads")
settings_mod = racing("settings")

pytestmark = pytest.mark.unit


@given(length=st.sampled_from([10, 60, 300, 3600, 86400]), ts=st.floats(0, 4e9, allow_nan=False))
def test_a_moment_lies_in_its_cycle_and_its_cycle_ends_at_its_bucket_expiry(length: int, ts: float) -> None:
    cycles = cycles_mod.Cycles(length)
    cycle = cycles.of(ts)
    assert cycle * length <= ts < cycles.end(cycle)
    assert cycles.of_expiry(cycles.end(cycle)) == cycle


def test_cycle_end_text_is_utc_and_follows_the_cycle() -> None:
    cycles = cycles_mod.Cycles(300)
    assert cycles.ends_at(0) == "1970-01-01T00:05:00Z"
    later = cycles.of(datetime(2026, 11, 29, 18, 2, 3, tzinfo=UTC).timestamp())
    assert cycles.ends_at(later) == "2026-11-29T18:05:00Z"
    assert cycles.ends_at(0) == "1970-01-01T00:05:00Z"  # the memo does not stick to the last cycle


def invalid(fn: object, *args: object) -> str:
    with pytest.raises(NakamaError) as info:
        fn(*args)  # type: ignore[operator]
    assert info.value.code == Code.INVALID_ARGUMENT
    return info.value.message


def test_payload_must_be_a_json_object_or_empty() -> None:
    assert payloads.json_object("") == {}
    assert payloads.json_object("  ") == {}
    assert payloads.json_object('{"a": 1}') == {"a": 1}
    for bad in ("[1]", "3", "nope", '"text"'):
        assert invalid(payloads.json_object, bad) == "payload must be a JSON object"


@pytest.mark.parametrize(("value", "message"), [
    (None, "race_time is required: the race time in seconds"),
    (True, "race_time must be a finite number of seconds"),
    ("40", "race_time must be a finite number of seconds"),
    (math.inf, "race_time must be a finite number of seconds"),
    (0.5, "race_time must be between 1 and 3600 seconds"),
    (3600.5, "race_time must be between 1 and 3600 seconds"),
])
def test_race_time_rules(value: object, message: str) -> None:
    assert invalid(payloads.race_time, {"race_time": value}, 1.0, 3600.0) == message


def test_race_time_bounds_are_inclusive() -> None:
    assert payloads.race_time({"race_time": 1}, 1.0, 3600.0) == 1.0
    assert payloads.race_time({"race_time": 3600}, 1.0, 3600.0) == 3600.0


@pytest.mark.parametrize("key", ["", "k" * 129, "a\nb", "tab\tkey", "del\x7f", 7, None])
def test_idempotency_key_rules(key: object) -> None:
    invalid(payloads.idempotency_key, {"idempotency_key": key})


def test_idempotency_key_accepts_up_to_128_printable_characters() -> None:
    assert payloads.idempotency_key({"idempotency_key": "k" * 128}) == "k" * 128
    assert payloads.idempotency_key({"idempotency_key": "é-✓"}) == "é-✓"


def test_optional_int_names_its_bounds() -> None:
    assert payloads.optional_int({}, "limit", low=1, high=10) is None
    assert payloads.optional_int({"limit": 3.0}, "limit", low=1, high=10) == 3
    with pytest.raises(NakamaError, match="limit must be an integer from 1 to 10"):
        payloads.optional_int({"limit": 11}, "limit", low=1, high=10)
    with pytest.raises(NakamaError, match="cycle must be an integer of at least 0"):
        payloads.optional_int({"cycle": -1}, "cycle", low=0)
    with pytest.raises(NakamaError):
        payloads.optional_int({"limit": True}, "limit", low=1, high=10)


def test_metadata_is_an_object_of_bounded_size() -> None:
    assert payloads.metadata({}) is None
    assert payloads.metadata({"metadata": {"car": "red"}}) == {"car": "red"}
    assert invalid(payloads.metadata, {"metadata": [1]}) == "metadata must be a JSON object"
    big = {"metadata": {"x": "y" * payloads.MAX_METADATA_BYTES}}
    assert "at most" in invalid(payloads.metadata, big)


@pytest.mark.parametrize(("seconds", "schedule"), [
    (10, "*/10 * * * * * *"), (60, "*/1 * * * *"), (300, "*/5 * * * *"),
    (3600, "*/60 * * * *"), (86400, "0 */24 * * *"),
])
def test_cycle_lengths_map_to_a_reset_schedule(seconds: int, schedule: str) -> None:
    assert settings_mod.cycle_schedule(seconds) == schedule


@pytest.mark.parametrize(("env", "message"), [
    ({"racing_cycle_seconds": "7"}, "does not divide a minute"),
    ({"racing_cycle_seconds": "abc"}, "is not an integer"),
    ({"racing_min_race_seconds": "0"}, "must be greater than 0"),
    ({"racing_min_race_seconds": "50", "racing_max_race_seconds": "40"}, "must be at least racing_min_race_seconds"),
    ({"racing_rewards": "1,x"}, "is not a comma-separated list of integers"),
    ({"racing_rewards": "-1"}, "non-negative"),
    ({"racing_retention_interval_seconds": "0.5"}, "give 0 \\(no background job\\) or at least 1"),
    ({"racing_retention_interval_seconds": "-1"}, "must be at least 0"),
])
def test_bad_settings_name_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(settings_mod.SettingsError, match=message):
        settings_mod.RacingSettings.from_env(env)


def test_settings_defaults_and_overrides() -> None:
    default = settings_mod.RacingSettings.from_env({})
    assert (default.cycle_seconds, default.submit_rate_per_minute, default.rewards[:3]) == (300, 10, (1000, 500, 250))
    custom = settings_mod.RacingSettings.from_env({"racing_cycle_seconds": "60", "racing_rewards": "5,3"})
    assert (custom.cycle_seconds, custom.rewards, custom.reset_schedule) == (60, (5, 3), "*/1 * * * *")
    assert default.retention_interval_seconds == 60
    external = settings_mod.RacingSettings.from_env({"racing_retention_interval_seconds": "0"})
    assert external.retention_interval_seconds == 0
