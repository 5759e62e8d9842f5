"""Racing regions, from ``runtime.env`` (README's racing section, "Regions").

  racing_regions         comma-separated region names, e.g. ``us-east,eu-west,ap-south``; empty (the
                         default): one region, the ``race_times`` board, every reply as without regions
  racing_region_urls     the regions another cluster serves: ``eu-west=http://eu.example:7350,...``; every
                         other region is local (its board lives in this cluster's database)
  racing_region_http_key the runtime http_key of those clusters (default ``defaulthttpkey``)
  racing_region_rewards  coins for ranks 1, 2, ... of each local region's own standings, paid once per
                         cycle beside the global rewards (``racing_rewards``); empty (default): none
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .access import BOARD
from .settings import SettingsError

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def region_board(region: str) -> str:
    """The leaderboard of one region (its own cycle buckets)."""
    return f"{BOARD}.{region}"


def _amounts(env: Mapping[str, str], key: str) -> tuple[int, ...]:
    raw = (env.get(key) or "").strip()
    if not raw:
        return ()
    try:
        amounts = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not a comma-separated list of integers") from None
    if not 1 <= len(amounts) <= 100 or any(a < 0 for a in amounts):
        raise SettingsError(f"{key}: give 1 to 100 non-negative amounts (coins for ranks 1, 2, ...)")
    return amounts


@dataclass(frozen=True)
class RegionSettings:
    regions: tuple[str, ...] = ()
    remote: Mapping[str, str] = field(default_factory=dict)  # region -> base URL of the cluster serving it
    http_key: str = "defaulthttpkey"
    rewards: tuple[int, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.regions)

    @property
    def local(self) -> tuple[str, ...]:
        return tuple(r for r in self.regions if r not in self.remote)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RegionSettings:
        raw = (env.get("racing_regions") or "").strip()
        regions = tuple(part.strip() for part in raw.split(",")) if raw else ()
        for region in regions:
            if not NAME.match(region):
                raise SettingsError(f"racing_regions: {region!r} is not a region name "
                                    "(lowercase letters, digits and '-', at most 32)")
        if len(set(regions)) != len(regions):
            raise SettingsError(f"racing_regions: {raw!r} names a region twice")
        remote: dict[str, str] = {}
        urls = (env.get("racing_region_urls") or "").strip()
        for part in urls.split(",") if urls else ():
            region, sep, url = part.strip().partition("=")
            if not sep or region not in regions or not url.startswith(("http://", "https://")):
                raise SettingsError(f"racing_region_urls: {part.strip()!r} is not <region of racing_regions>="
                                    "http(s)://<host:port of the cluster serving it>")
            remote[region] = url.rstrip("/")
        settings = cls(regions, remote, (env.get("racing_region_http_key") or "defaulthttpkey").strip(),
                       _amounts(env, "racing_region_rewards"))
        if regions and not settings.local:
            raise SettingsError("racing_region_urls: every region is remote; this cluster must serve at least one")
        if settings.rewards and not regions:
            raise SettingsError("racing_region_rewards: needs racing_regions")
        return settings
