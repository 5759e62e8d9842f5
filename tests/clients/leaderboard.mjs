// nakama-js 2.8.0 on leaderboards: write, list, around-owner and delete on a set, a best and
// an incr board (created by the test), as two users whose sessions the test minted.
import { Session } from "@heroiclabs/nakama-js";
import { client, failure, run } from "./_client.mjs";

const boards = JSON.parse(process.env.BOARDS);  // {set, best, incr, authoritative}

function slim(record) {
  return {
    owner_id: record.owner_id, username: record.username, score: record.score, subscore: record.subscore,
    num_score: record.num_score, rank: record.rank, metadata: record.metadata,
    max_num_score: record.max_num_score, has_update_time: Boolean(record.update_time),
  };
}

function slimList(list) {
  return {
    records: list.records.map(slim), owner_records: list.owner_records.map(slim), rank_count: list.rank_count,
    has_next: Boolean(list.next_cursor), has_prev: Boolean(list.prev_cursor), next_cursor: list.next_cursor,
  };
}

run(async () => {
  const c = client();
  const alice = Session.restore(process.env.ALICE_TOKEN, process.env.ALICE_REFRESH);
  const bob = Session.restore(process.env.BOB_TOKEN, process.env.BOB_REFRESH);
  const out = {};
  for (const [kind, id] of Object.entries(boards)) {
    if (kind === "authoritative") continue;
    const first = await c.writeLeaderboardRecord(alice, id, { score: 10, subscore: 1, metadata: { lap: 1 } });
    const second = await c.writeLeaderboardRecord(alice, id, { score: 1, subscore: 20 });
    const other = await c.writeLeaderboardRecord(bob, id, { score: 7, subscore: 3 });
    const page = await c.listLeaderboardRecords(alice, id, [alice.user_id, bob.user_id], 1);
    const next = await c.listLeaderboardRecords(alice, id, undefined, 1, page.next_cursor);
    const around = await c.listLeaderboardRecordsAroundOwner(alice, id, bob.user_id, 2);
    // Not in the 2.8.0 high-level Client: the generated API client it wraps does it.
    const deleted = await c.apiClient.deleteLeaderboardRecord(alice.token, id);
    const after = await c.listLeaderboardRecords(alice, id, [alice.user_id], 10);
    out[kind] = {
      first: slim(first), second: slim(second), other: slim(other), page: slimList(page), next: slimList(next),
      around: slimList(around), deleted, after: slimList(after),
    };
  }
  out.refused = await failure(c.writeLeaderboardRecord(alice, boards.authoritative, { score: 1 }));
  out.missing = await failure(c.listLeaderboardRecords(alice, "no-such-board", undefined, 10));
  out.alice = alice.user_id;
  out.bob = bob.user_id;
  return out;
});
