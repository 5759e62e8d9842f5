"""What the database must hold after a fault, counted against what the clients were told.

- every acknowledged submission has its idempotency receipt exactly once, and the player's record
  in that cycle is at least as good as the time acknowledged (``best``: lower is better);
- every finalized cycle (a snapshot exists) paid each of its winners exactly once: one ledger
  entry, one receipt, one notification each, the same as any payout a client saw;
- nothing half-written: no snapshot short of its payouts, no ledger entry without its receipt
  (or the reverse), no payout for a cycle without a snapshot.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from tests.faults.load import Observed

BOARD = "race_times"
SYSTEM = "00000000-0000-0000-0000-000000000000"


@dataclass
class Verdict:
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    worse_record: list[str] = field(default_factory=list)
    finalized_cycles: int = 0
    payouts: int = 0
    double_paid: list[str] = field(default_factory=list)
    half_written: list[str] = field(default_factory=list)
    unseen_payouts: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.worse_record or self.double_paid or self.half_written
                    or self.unseen_payouts)

    def line(self, scenario: str, **extra: object) -> str:
        figures = {"acknowledged": self.acknowledged, "lost": len(self.lost), "duplicated": len(self.duplicated),
                   "finalized_cycles": self.finalized_cycles, "payouts": self.payouts,
                   "double_paid": len(self.double_paid), "half_written": len(self.half_written), **extra}
        return f"FAULTS {scenario}: " + json.dumps(figures)


def check(database_url: str, observed: Observed, cycle_seconds: int) -> Verdict:
    verdict = Verdict(acknowledged=len(observed.acked))
    with psycopg.connect(database_url) as conn:
        receipts = Counter(
            (str(owner), key) for owner, key in conn.execute(
                "SELECT owner_id, idempotency_key FROM nakama_py_leaderboard_receipt WHERE leaderboard_id = %s",
                (BOARD,)))
        records = {(str(owner), int(expiry.timestamp()) // cycle_seconds - 1): score for owner, expiry, score in
                   conn.execute("SELECT owner_id, expiry_time, score FROM leaderboard_record"
                                " WHERE leaderboard_id = %s", (BOARD,))}
        for ack in observed.acked:
            name = f"{ack.user_id}/{ack.key}"
            seen = receipts.get((ack.user_id, ack.key), 0)
            if seen == 0:
                verdict.lost.append(name)
            elif seen > 1:
                verdict.duplicated.append(name)
            score = records.get((ack.user_id, ack.cycle))
            if score is None or score > ack.race_time_ms:
                verdict.worse_record.append(f"{name}: record {score} for {ack.race_time_ms}")

        snapshots = {int(key.removeprefix("snapshot_")): value for key, value in conn.execute(
            "SELECT key, value FROM storage WHERE collection = 'race_data' AND key LIKE 'snapshot_%%'"
            " AND user_id = %s", (SYSTEM,))}
        ledger = Counter((str(user), int(cycle), int(coins)) for user, cycle, coins in conn.execute(
            "SELECT user_id, (metadata->>'cycle')::bigint, (changeset->>'coins')::bigint FROM wallet_ledger"
            " WHERE metadata->>'reason' = 'racing_reward'"))
        paid_receipts = Counter((str(user), int(key.removeprefix("reward_"))) for user, key in conn.execute(
            "SELECT user_id, key FROM storage WHERE collection = 'race_data' AND key LIKE 'reward_%%'"))
        notes = Counter((str(user), int(content["cycle"])) for user, content in conn.execute(
            "SELECT user_id, content FROM notification WHERE subject = 'Racing reward'"))

    verdict.finalized_cycles = len(snapshots)
    verdict.payouts = sum(ledger.values())
    per_payee = Counter((user, cycle) for (user, cycle, _), n in ledger.items() for _ in range(n))
    for (user, cycle), n in per_payee.items():
        if n > 1:
            verdict.double_paid.append(f"{user} cycle {cycle}: {n} ledger entries")
        if cycle not in snapshots:
            verdict.half_written.append(f"{user} cycle {cycle}: paid without a snapshot")
        if paid_receipts.get((user, cycle), 0) != 1:
            verdict.half_written.append(f"{user} cycle {cycle}: ledger entry without its receipt")
        if notes.get((user, cycle), 0) != 1:
            verdict.half_written.append(f"{user} cycle {cycle}: {notes.get((user, cycle), 0)} notifications")
    for (user, cycle), n in paid_receipts.items():
        if per_payee.get((user, cycle), 0) != n:
            verdict.half_written.append(f"{user} cycle {cycle}: receipt without its ledger entry")
    for cycle, snapshot in snapshots.items():
        for entry in snapshot["entries"]:
            if per_payee.get((entry["user_id"], cycle), 0) == 0:
                verdict.half_written.append(f"cycle {cycle}: snapshot winner {entry['user_id']} unpaid")
    for cycle, seen_payouts in observed.payouts.items():
        for user, coins in seen_payouts:
            if ledger.get((user, cycle, coins), 0) != 1:
                verdict.unseen_payouts.append(f"{user} cycle {cycle}: client saw {coins}, ledger disagrees")
    return verdict
