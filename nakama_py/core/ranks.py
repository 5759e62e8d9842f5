"""The in-memory rank structure: for each (leaderboard, bucket), every record's position.

Order is Nakama's: score, then subscore, then the owner's UUID as the last tie-break;
ascending boards put the smaller value (and the smaller UUID) first, descending boards
the larger. Ranks are therefore unique 1-based positions. Rank lookups, inserts and
deletes are O(log n) (a ``sortedcontainers.SortedList``), and each entry also holds the
owner's username so a top-N read needs no database query.

Compact entries. Each record is one Python int that packs, from the most significant
bits: score (64 bits), subscore (64), owner UUID (128), then a 96-bit "stamp"
(record create time in microseconds, 64 bits, and num_score, 32). The first three
fields are transformed so that plain integer order is the board's order (for a
descending board, ``2**64-1 - score`` and so on); the owner is unique within a bucket,
so the stamp below it never affects the order. The sorted list holds these ints, and a
dict maps the owner (as an int) to ``(key, username)``. About 280 bytes of Python objects
(330 bytes of resident memory) per record with a 12-character username;
``python bench/rank_warm.py --records 1000000`` measures it.

Ordering of updates. The stamp orders the versions of one owner's record: a later
write to the same record has a higher num_score, and a record deleted and written
again has a later create time. An update older than (or equal to) what an entry holds
is ignored, and a delete leaves a short-lived tombstone so that a write it overtook
(possible across processes) cannot bring the record back. Applying an update twice,
or updates out of order, therefore ends in the same state.

Several server processes. Each process keeps its own structure. A process applies
its own writes and deletes at once and publishes them (core/rank_sync.py): events
are coalesced for ``rank_sync.COALESCE_SEC`` (5 ms) and sent as one message on the
cluster bus (one NOTIFY with the PostgreSQL bus); every other process applies them when
they arrive.
**Bound on cross-process visibility:** a write acknowledged by one process is in the
ranks of every other process within ``VISIBILITY_BOUND_SEC`` (1 second) while their
database connections are up; typically within 5 ms plus one PostgreSQL round trip.
A publish that fails is retried until the bound; past it the publisher asks every
process to reload. A process whose bus connection drops reloads every bucket it
holds, plus the current bucket of every ranked board, when the connection is back.
tests/test_rank_processes.py checks the bound with two server processes.

Expired buckets are trimmed from memory ``EXPIRED_GRACE_SEC`` after their expiry (or
after their last use, if later), so a reset handler running right after a reset still
reads the finished period from memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any, NamedTuple

from sortedcontainers import SortedList

SCORE_MAX = (1 << 64) - 1
OWNER_MAX = (1 << 128) - 1
STAMP_BITS = 96
STAMP_MASK = (1 << STAMP_BITS) - 1
GEN_BITS = 32
GEN_MASK = (1 << GEN_BITS) - 1
OWNER_SHIFT = STAMP_BITS
SUBSCORE_SHIFT = OWNER_SHIFT + 128
SCORE_SHIFT = SUBSCORE_SHIFT + 64

VISIBILITY_BOUND_SEC = 1.0
EXPIRED_GRACE_SEC = 120.0
TOMBSTONE_TTL_SEC = 60.0

BucketKey = tuple[str, int]  # (leaderboard id, expiry unix seconds; 0 = never resets)


def make_stamp(create_time_us: int, num_score: int) -> int:
    return (create_time_us << GEN_BITS) | (num_score & GEN_MASK)


def owner_int(owner_id: str) -> int:
    """A UUID string as the 128-bit int whose order is the UUID's byte order."""
    return int(owner_id.replace("-", ""), 16)


@lru_cache(maxsize=65536)  # the owners near the top are formatted again and again
def owner_str(value: int) -> str:
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def pack(desc: bool, score: int, subscore: int, owner: int, stamp: int = 0) -> int:
    if desc:
        score, subscore, owner = SCORE_MAX - score, SCORE_MAX - subscore, OWNER_MAX - owner
    return (score << SCORE_SHIFT) | (subscore << SUBSCORE_SHIFT) | (owner << OWNER_SHIFT) | stamp


def unpack(desc: bool, key: int) -> tuple[int, int, int]:
    """(score, subscore, owner) of a packed key."""
    score = key >> SCORE_SHIFT
    subscore = (key >> SUBSCORE_SHIFT) & SCORE_MAX
    owner = (key >> OWNER_SHIFT) & OWNER_MAX
    if desc:
        return SCORE_MAX - score, SCORE_MAX - subscore, OWNER_MAX - owner
    return score, subscore, owner


class Ranked(NamedTuple):
    """One entry as read from a bucket (a tuple: cheap to make by the hundred)."""

    rank: int
    owner: int
    username: str | None
    score: int
    subscore: int


class RankBucket:
    """The ranks of one (leaderboard, expiry) bucket."""

    __slots__ = ("desc", "expiry", "keys", "memo", "owners", "tombstones", "touched", "version")

    def __init__(self, desc: bool, expiry: int, keys: Iterable[int] = (),
                 owners: dict[int, tuple[int, str | None]] | None = None) -> None:
        self.desc = desc
        self.expiry = expiry
        self.keys: SortedList = SortedList(keys)
        self.owners: dict[int, tuple[int, str | None]] = owners if owners is not None else {}
        self.tombstones: dict[int, tuple[int, float]] = {}
        self.touched = time.time()
        self.version = 0  # bumped by every change: what was read at one version holds until the next
        self.memo: tuple[int, int, Any] | None = None  # (version, limit, value) a reader may keep

    def __len__(self) -> int:
        return len(self.owners)

    # --- updates ----------------------------------------------------------------------

    def write(self, owner: int, score: int, subscore: int, stamp: int, username: str | None) -> bool:
        """Put the owner's record at its place unless what we hold is as new; True if applied."""
        current = self.owners.get(owner)
        if current is not None and current[0] & STAMP_MASK >= stamp:
            return False
        tomb = self.tombstones.get(owner)
        if tomb is not None:
            if tomb[0] >= stamp:
                return False
            del self.tombstones[owner]
        key = pack(self.desc, score, subscore, owner, stamp)
        if current is not None:
            self.keys.remove(current[0])
        self.keys.add(key)
        self.owners[owner] = (key, username)
        self.version += 1
        return True

    def delete(self, owner: int, stamp: int) -> bool:
        """Remove the owner's record if it is not newer than the deleted version ``stamp``."""
        tomb = self.tombstones.get(owner)
        if tomb is None or tomb[0] < stamp:
            self.tombstones[owner] = (stamp, time.monotonic())
        current = self.owners.get(owner)
        if current is None or current[0] & STAMP_MASK > stamp:
            return False
        self.keys.remove(current[0])
        del self.owners[owner]
        self.version += 1
        return True

    def prune_tombstones(self, now_monotonic: float) -> None:
        if self.tombstones:
            horizon = now_monotonic - TOMBSTONE_TTL_SEC
            self.tombstones = {k: v for k, v in self.tombstones.items() if v[1] > horizon}

    # --- reads ------------------------------------------------------------------------

    def rank(self, owner: int) -> int:
        """The owner's 1-based rank; 0 without a record."""
        current = self.owners.get(owner)
        if current is None:
            return 0
        return int(self.keys.bisect_left(current[0])) + 1

    def entry(self, owner: int) -> Ranked | None:
        current = self.owners.get(owner)
        if current is None:
            return None
        score, subscore, _ = unpack(self.desc, current[0])
        return Ranked(int(self.keys.bisect_left(current[0])) + 1, owner, current[1], score, subscore)

    def values(self, owner: int) -> tuple[int, int] | None:
        """The owner's (score, subscore), or None."""
        current = self.owners.get(owner)
        if current is None:
            return None
        score, subscore, _ = unpack(self.desc, current[0])
        return score, subscore

    def rank_if(self, owner: int, score: int, subscore: int) -> int:
        """The rank the owner would have with this score and subscore, all others unchanged."""
        probe = pack(self.desc, score, subscore, owner)
        position = int(self.keys.bisect_left(probe))
        current = self.owners.get(owner)
        if current is not None and current[0] < probe:
            position -= 1  # the owner's present entry is ahead of the probe and would move
        return position + 1

    def top(self, limit: int, start_rank: int = 1) -> list[Ranked]:
        out: list[Ranked] = []
        rank = start_rank
        owners = self.owners
        for key in self.keys.islice(start_rank - 1, start_rank - 1 + limit):
            score, subscore, owner = unpack(self.desc, key)
            out.append(Ranked(rank, owner, owners[owner][1], score, subscore))
            rank += 1
        return out

    def at_rank(self, rank: int) -> Ranked | None:
        if rank < 1 or rank > len(self.keys):
            return None
        score, subscore, owner = unpack(self.desc, self.keys[rank - 1])
        return Ranked(rank, owner, self.owners[owner][1], score, subscore)


class BucketBuilder:
    """Collects a bucket's rows during a load, then builds it in one sort."""

    __slots__ = ("desc", "expiry", "keys", "owners")

    def __init__(self, desc: bool, expiry: int) -> None:
        self.desc = desc
        self.expiry = expiry
        self.keys: list[int] = []
        self.owners: dict[int, tuple[int, str | None]] = {}

    def add(self, owner: int, score: int, subscore: int, stamp: int, username: str | None) -> None:
        current = self.owners.get(owner)
        if current is not None and current[0] & STAMP_MASK >= stamp:
            return  # the same record seen twice while it moved during the scan
        key = pack(self.desc, score, subscore, owner, stamp)
        self.owners[owner] = (key, username)
        self.keys.append(key)

    def build(self) -> RankBucket:
        if len(self.keys) != len(self.owners):
            self.keys = [entry[0] for entry in self.owners.values()]
        return RankBucket(self.desc, self.expiry, self.keys, self.owners)


class RankStore:
    """Every bucket this process holds, and the buckets being loaded."""

    def __init__(self) -> None:
        self.buckets: dict[BucketKey, RankBucket] = {}
        # Buckets being loaded: updates that arrive meanwhile, replayed on the loaded copy.
        self.loading: dict[BucketKey, list[tuple[int, int, int, int, int, str | None]]] = {}

    def get(self, board: str, expiry: int) -> RankBucket | None:
        bucket = self.buckets.get((board, expiry))
        if bucket is not None:
            bucket.touched = time.time()
        return bucket

    def ensure(self, board: str, expiry: int, desc: bool) -> RankBucket:
        """The bucket, created empty if absent (a bucket nobody wrote to yet is empty)."""
        key = (board, expiry)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = RankBucket(desc, expiry)
        bucket.touched = time.time()
        return bucket

    def write(self, board: str, expiry: int, desc: bool, owner: int, score: int, subscore: int,
              stamp: int, username: str | None, *, create: bool) -> RankBucket | None:
        """Apply a write; ``create``: make the bucket when absent (current or future buckets)."""
        key = (board, expiry)
        pending = self.loading.get(key)
        if pending is not None:
            pending.append((0, owner, score, subscore, stamp, username))
        bucket = self.buckets.get(key)
        if bucket is None:
            if not create or pending is not None:
                return None
            bucket = self.buckets[key] = RankBucket(desc, expiry)
        bucket.write(owner, score, subscore, stamp, username)
        return bucket

    def delete(self, board: str, expiry: int, owner: int, stamp: int) -> None:
        key = (board, expiry)
        pending = self.loading.get(key)
        if pending is not None:
            pending.append((1, owner, 0, 0, stamp, None))
        bucket = self.buckets.get(key)
        if bucket is not None:
            bucket.delete(owner, stamp)

    def warming(self, board: str, expiry: int) -> bool:
        """True while a bucket is being read for the first time: absent here does not mean empty
        (core/leaderboards.py serves its reads from the database meanwhile)."""
        key = (board, expiry)
        return key in self.loading and key not in self.buckets

    def begin_load(self, board: str, expiry: int) -> None:
        self.loading.setdefault((board, expiry), [])

    def finish_load(self, builder: BucketBuilder, board: str) -> RankBucket:
        """Install a loaded bucket, replaying what happened while it loaded."""
        key = (board, builder.expiry)
        bucket = builder.build()
        for kind, owner, score, subscore, stamp, username in self.loading.pop(key, []):
            if kind == 0:
                bucket.write(owner, score, subscore, stamp, username)
            else:
                bucket.delete(owner, stamp)
        old = self.buckets.get(key)
        if old is not None:
            bucket.tombstones.update(old.tombstones)
        self.buckets[key] = bucket
        return bucket

    def abandon_load(self, board: str, expiry: int) -> None:
        self.loading.pop((board, expiry), None)

    def drop(self, board: str, expiry: int | None = None) -> None:
        """Forget one bucket, or every bucket of a board."""
        if expiry is not None:
            self.buckets.pop((board, expiry), None)
            return
        for key in [k for k in self.buckets if k[0] == board]:
            del self.buckets[key]

    def keys_of(self, board: str) -> Iterator[BucketKey]:
        return (k for k in list(self.buckets) if k[0] == board)

    def trim_expired(self, now: float, grace: float = EXPIRED_GRACE_SEC) -> list[BucketKey]:
        """Drop buckets whose period ended (and that nobody read) more than ``grace`` ago."""
        dropped = []
        monotonic = time.monotonic()
        for key, bucket in list(self.buckets.items()):
            expiry = key[1]
            if expiry and max(expiry, bucket.touched) + grace <= now and key not in self.loading:
                del self.buckets[key]
                dropped.append(key)
            else:
                bucket.prune_tombstones(monotonic)
        return dropped
