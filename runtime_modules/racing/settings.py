"""The racing module's configuration, read from ``runtime.env`` (``--runtime.env racing_cycle_seconds=60``).

A bad value stops start-up with a message naming the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from nakama_py.runtime import ConfigurationError

DEFAULT_REWARDS = (1000, 500, 250, 100, 100, 100, 100, 100, 100, 100)
SUBMIT_MODES = ("direct", "stream")


class SettingsError(ConfigurationError):
    """Stops start-up with its message alone (it names the key), like a server config error."""


def _number(env: Mapping[str, str], key: str, default: float, *, integer: bool, minimum: float,
            exclusive: bool = False) -> float:
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise SettingsError(f"{key}: {raw!r} is not {kind}") from None
    if not math.isfinite(value) or value < minimum or (exclusive and value == minimum):
        bound = f"greater than {minimum:g}" if exclusive else f"at least {minimum:g}"
        raise SettingsError(f"{key}: must be {bound}, got {raw!r}")
    return value


def cycle_schedule(cycle_seconds: int) -> str:
    """The leaderboard reset schedule whose periods are exactly the cycles.

    Cycle n covers [n * cycle_seconds, (n + 1) * cycle_seconds) of unix time, so a cycle length
    must divide a minute, an hour or a day for cron (in UTC) to mark the same boundaries.
    """
    c = cycle_seconds
    if c < 60 and 60 % c == 0:
        return f"*/{c} * * * * * *"  # seconds first, year last
    if c % 60 == 0 and 3600 % c == 0:
        return f"*/{c // 60} * * * *"
    if c % 3600 == 0 and 86400 % c == 0:
        return f"0 */{c // 3600} * * *"
    raise SettingsError(f"racing_cycle_seconds: {c} does not divide a minute, an hour or a day "
                        "(e.g. 10, 30, 60, 300, 600, 3600, 86400)")


def _batch_size(env: Mapping[str, str]) -> int:
    size = int(_number(env, "racing_stream_batch_size", 200, integer=True, minimum=1))
    if size > 1000:
        raise SettingsError(f"racing_stream_batch_size: must be at most 1000, got {size}")
    return size


@dataclass(frozen=True)
class RacingSettings:
    cycle_seconds: int = 300
    min_race_seconds: float = 1.0
    max_race_seconds: float = 3600.0
    idempotency_ttl_seconds: int = 3600
    submit_rate_per_minute: int = 10
    leaderboard_cache_ms: int = 1000
    rewards: tuple[int, ...] = DEFAULT_REWARDS
    retention_days: float = 7.0
    retention_interval_seconds: float = 60.0  # 0: no background job (an external scheduler calls run_retention)
    submit_mode: str = "direct"        # "stream": accepted at once, applied in batches from the event log
    stream_batch_size: int = 200
    stream_drain_seconds: float = 30.0  # how long finalization waits for the log to be applied
    track_meters: float = 1000.0      # a live race's length (race_match.py)
    max_speed_mps: float = 100.0      # progress faster than this is impossible: rejected

    @property
    def reset_schedule(self) -> str:
        return cycle_schedule(self.cycle_seconds)

    @property
    def retention_seconds(self) -> float:
        return self.retention_days * 86400

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RacingSettings:
        cycle = int(_number(env, "racing_cycle_seconds", 300, integer=True, minimum=1))
        cycle_schedule(cycle)
        low = _number(env, "racing_min_race_seconds", 1.0, integer=False, minimum=0, exclusive=True)
        high = _number(env, "racing_max_race_seconds", 3600.0, integer=False, minimum=0, exclusive=True)
        if high < low:
            raise SettingsError(f"racing_max_race_seconds: must be at least racing_min_race_seconds ({low:g})")
        rewards: tuple[int, ...] = DEFAULT_REWARDS
        raw = env.get("racing_rewards")
        if raw is not None and raw.strip():
            try:
                rewards = tuple(int(part) for part in raw.split(","))
            except ValueError:
                raise SettingsError(f"racing_rewards: {raw!r} is not a comma-separated list of integers") from None
            if not 1 <= len(rewards) <= 100 or any(r < 0 for r in rewards):
                raise SettingsError("racing_rewards: give 1 to 100 non-negative amounts (coins for ranks 1, 2, ...)")
        retention_interval = _number(env, "racing_retention_interval_seconds", 60.0, integer=False, minimum=0)
        if 0 < retention_interval < 1:
            raise SettingsError("racing_retention_interval_seconds: give 0 (no background job) or at least 1")
        mode = (env.get("racing_submit_mode") or "direct").strip()
        if mode not in SUBMIT_MODES:
            raise SettingsError(f"racing_submit_mode: {mode!r} is not one of {', '.join(SUBMIT_MODES)}")
        return cls(
            submit_mode=mode,
            stream_batch_size=_batch_size(env),
            stream_drain_seconds=_number(env, "racing_stream_drain_seconds", 30.0, integer=False, minimum=0,
                                         exclusive=True),
            cycle_seconds=cycle,
            min_race_seconds=low,
            max_race_seconds=high,
            idempotency_ttl_seconds=int(_number(env, "racing_idempotency_ttl_seconds", 3600, integer=True,
                                                minimum=1)),
            submit_rate_per_minute=int(_number(env, "racing_submit_rate_per_minute", 10, integer=True, minimum=1)),
            leaderboard_cache_ms=int(_number(env, "racing_leaderboard_cache_ms", 1000, integer=True, minimum=0)),
            rewards=rewards,
            retention_days=_number(env, "racing_retention_days", 7.0, integer=False, minimum=0, exclusive=True),
            retention_interval_seconds=retention_interval,
            track_meters=_number(env, "racing_track_meters", 1000.0, integer=False, minimum=0, exclusive=True),
            max_speed_mps=_number(env, "racing_max_speed_mps", 100.0, integer=False, minimum=0, exclusive=True),
        )
