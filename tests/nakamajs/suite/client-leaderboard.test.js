// Port of nakama-js v2.8.0 packages/nakama-js-test/client-leaderboard.test.ts.
const { createPage } = require("../support/page");
const { generateid } = require("../support/utils");

// Creates a leaderboard with `operator` through clientrpc.create_leaderboard, writes each record of
// `writes` in turn (score and subscore as strings, metadata {key: "value"}) and answers the last
// write's reply, or the record list when `list` is set.
async function writeRecords(operator, writes, list = false) {
  const page = await createPage();
  return page.evaluate(async (customid, operator, writes, list) => {
    const client = new nakamajs.Client();
    const session = await client.authenticateCustom(customid);
    const created = await client.rpc(session, "clientrpc.create_leaderboard", { operator });
    const leaderboardId = created.payload.leaderboard_id;
    let record = null;
    for (const [score, subscore] of writes) {
      record = await client.writeLeaderboardRecord(session, leaderboardId, { score, subscore, metadata: { key: "value" } });
    }
    return list ? await client.listLeaderboardRecords(session, leaderboardId) : record;
  }, generateid(), operator, writes, list);
}

function expectRecord(record, score, subscore) {
  expect(record).not.toBeNull();
  expect(record.score).toBe(score);
  expect(record.subscore).toBe(subscore);
  expect(record.metadata).not.toBeNull();
  expect(record.metadata.key).toBe("value");
}

describe("Leaderboard Tests", () => {
  it("should create leaderboard with Set operator and write record", async () => {
    expectRecord(await writeRecords("set", [["10", "1"]]), 10, 1);
  });

  it("should create leaderboard with Best operator and write record", async () => {
    expectRecord(await writeRecords("best", [["10", "1"], ["1", "20"]]), 10, 20);
  });

  it("should create leaderboard with Incr operator and write record", async () => {
    expectRecord(await writeRecords("incr", [["10", "1"], ["1", "5"]]), 11, 6);
  });

  it("should create leaderboard with Set operator and then list leaderboard records", async () => {
    const list = await writeRecords("set", [["10", "1"]], true);

    expect(list).not.toBeNull();
    expectRecord(list.records[0], 10, 1);
    expect(list.records[0].rank).toBe(1);
  });
});
