"""Which region a player races in: chosen by their first submission, then fixed.

The rule (README, "Regions"): the submission's ``region`` field, else the session's vars ``region``
(set by the client at authentication), names the region. The first submission that passes the
payload checks stores it (``race_data``/``region``, owned by the player, read-only to them) with a
create-only write, so two first submissions racing on different processes or nodes agree on one
region. Later submissions may omit it; naming another region is refused (code 3, HTTP 400), as is an
unknown region, a region another cluster serves, or no region at all on the first submission.

A player's region never changes once stored, so each process caches it without invalidation.
"""

from __future__ import annotations

from typing import Any

from nakama_py.runtime import Context, NakamaModule, StorageVersionConflict

from .access import COLLECTION
from .payloads import invalid
from .region_settings import RegionSettings

REGION_KEY = "region"
MAX_CACHED = 200_000


def requested_region(body: dict[str, Any], ctx: Context) -> str | None:
    """The region a submission names: its payload's ``region``, else the session's vars."""
    value = body.get("region")
    if value is None:
        value = ctx.vars.get("region")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid("region must be a string")
    return value


class PlayerRegions:
    def __init__(self, settings: RegionSettings) -> None:
        self.settings = settings
        self._known: dict[str, str] = {}

    def _check(self, region: str) -> None:
        if region not in self.settings.regions:
            raise invalid(f"unknown region {region!r}: one of {', '.join(self.settings.regions)}")

    async def region_of(self, nk: NakamaModule, user_id: str) -> str | None:
        """The player's stored region, or None before their first submission."""
        region = self._known.get(user_id)
        if region is None:
            found = await nk.storage_read([{"collection": COLLECTION, "key": REGION_KEY, "user_id": user_id}])
            if not found:
                return None
            region = str(nk.json_decode(found[0].value)["region"])
            self._remember(user_id, region)
        return region

    def _remember(self, user_id: str, region: str) -> None:
        if len(self._known) >= MAX_CACHED:
            self._known.clear()
        self._known[user_id] = region

    async def fix(self, nk: NakamaModule, user_id: str, requested: str | None) -> str:
        """The player's region for a submission, storing it the first time."""
        if requested is not None:
            self._check(requested)
        stored = await self.region_of(nk, user_id)
        if stored is None:
            if requested is None:
                raise invalid(f"region is required on a player's first submission (the payload's region or "
                              f"the session's vars): one of {', '.join(self.settings.regions)}")
            if requested in self.settings.remote:
                raise invalid(f"region {requested!r} is served by another cluster "
                              f"({self.settings.remote[requested]}): submit there")
            try:
                await nk.storage_write([{"collection": COLLECTION, "key": REGION_KEY, "user_id": user_id,
                                         "value": {"region": requested}, "version": "*",
                                         "permission_read": 1, "permission_write": 0}])
                stored = requested
                self._remember(user_id, stored)
            except StorageVersionConflict:  # another first submission stored it first
                stored = await self.region_of(nk, user_id)
                if stored is None:
                    raise
        if requested is not None and requested != stored:
            raise invalid(f"region is fixed: this player races in {stored!r}, not {requested!r}")
        return stored
