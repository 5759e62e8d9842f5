"""Which processes left the cluster, for the services that hold replicas of other processes'
state (presences, matchmaker tickets, match listings) and drop them in a periodic sweep."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from nakama_py.cluster.bus import ClusterBus


def departed_processes(owners: Iterable[str], me: str, bus: ClusterBus, heard: Mapping[str, float],
                       grace_sec: float) -> list[str]:
    """The ``owners`` whose replicated state is to be dropped: not this process, not in the bus's
    membership, and last heard of (``heard``: monotonic seconds) at least ``grace_sec`` ago, since a
    process first heard of recently may not be in the membership list yet."""
    alive = {info.process for info in bus.alive()}
    now = time.monotonic()
    return [owner for owner in owners
            if owner != me and owner not in alive and now - heard.get(owner, 0.0) >= grace_sec]
