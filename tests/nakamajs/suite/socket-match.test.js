// Port of nakama-js v2.8.0 packages/nakama-js-test/socket-match.test.ts.
// Match data is decoded to a string in the page: a Uint8Array does not survive puppeteer's return.
const { createPage } = require("../support/page");
const { adapters, generateid } = require("../support/utils");

const NO_DATA = "did not receive match data - timed out.";

function expectSelf(self) {
  expect(self).not.toBeNull();
  expect(self.session_id).not.toBeNull();
  expect(self.user_id).not.toBeNull();
  expect(self.username).not.toBeNull();
}

function expectOneAuthoritativeMatch(list) {
  expect(list).not.toBeNull();
  expect(list.matches).not.toBeNull();
  expect(list.matches).toHaveLength(1);
  const [match] = list.matches;
  expect(match).not.toBeNull();
  expect(match.match_id).not.toBeNull();
  expect(match.authoritative).toBe(true);
}

describe("Match Tests", () => {
  it.each(adapters)("should create match", async (adapter) => {
    const page = await createPage();

    const match = await page.evaluate(async (customid, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      return await socket.createMatch();
    }, generateid(), adapter);

    expect(match).not.toBeNull();
    expect(match.match_id).not.toBeNull();
    expectSelf(match.self);
  });

  it.each(adapters)("should join a match", async (adapter) => {
    const page = await createPage();

    const match = await page.evaluate(async (customid, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      const created = await socket.createMatch();
      return await socket.joinMatch(created.match_id);
    }, generateid(), adapter);

    expect(match).not.toBeNull();
    expect(match.match_id).not.toBeNull();
    expect(match.presences).toHaveLength(1);
    expectSelf(match.self);
  });

  it.each(adapters)("should join a match, then leave it", async (adapter) => {
    const page = await createPage();

    const reply = await page.evaluate(async (customid, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      const match = await socket.createMatch();
      await socket.joinMatch(match.match_id);
      return await socket.leaveMatch(match.match_id);
    }, generateid(), adapter);

    expect(reply).not.toBeNull();
  });

  it.each(adapters)("should join a match, then send data, receive data", async (adapter) => {
    const page = await createPage();
    const payload = { hello: "world" };

    const data = await page.evaluate(async (customid1, customid2, payload, adapter, noData) => {
      const client1 = new nakamajs.Client();
      const client2 = new nakamajs.Client();
      const socket1 = client1.createSocket(false, false, socketAdapter(adapter));
      const socket2 = client2.createSocket(false, false, socketAdapter(adapter));
      const received = new Promise((resolve) => {
        socket2.onmatchdata = (matchData) => resolve(new TextDecoder().decode(matchData.data));
      });

      const session1 = await client1.authenticateCustom(customid1);
      await socket1.connect(session1, false);
      const match = await socket1.createMatch();
      const session2 = await client2.authenticateCustom(customid2);
      await socket2.connect(session2, false);
      await socket2.joinMatch(match.match_id);
      await socket1.sendMatchState(match.match_id, 20, JSON.stringify(payload));
      const timedOut = new Promise((_, reject) => setTimeout(reject, 5000, noData));
      return Promise.race([received, timedOut]);
    }, generateid(), generateid(), payload, adapter, NO_DATA);

    expect(data).not.toBeNull();
    expect(JSON.parse(data)).toEqual(payload);
  });

  it.each(adapters)("should join a match, then send data to included presences", async (adapter) => {
    const page = await createPage();
    const payload = JSON.stringify({ hello: "world" });

    const data = await page.evaluate(async (customid1, customid2, customid3, payload, adapter, noData) => {
      const clients = [new nakamajs.Client(), new nakamajs.Client(), new nakamajs.Client()];
      const [socket1, socket2, socket3] = clients.map((client) => client.createSocket(false, false, socketAdapter(adapter)));

      const session1 = await clients[0].authenticateCustom(customid1);
      await socket1.connect(session1, false);
      let match = await socket1.createMatch();

      const session2 = await clients[1].authenticateCustom(customid2);
      await socket2.connect(session2, false);
      match = await socket2.joinMatch(match.match_id);
      // The first presence event socket2 sees after joining: the joins it is told about.
      const presenceEvent = await new Promise((resolve) => { socket2.onmatchpresence = resolve; });

      const session3 = await clients[2].authenticateCustom(customid3);
      await socket3.connect(session3, false);
      match = await socket3.joinMatch(match.match_id);
      const timedOut = new Promise((_, reject) => setTimeout(reject, 5000, noData));
      const received = new Promise((resolve) => {
        socket2.onmatchdata = (matchData) => resolve(new TextDecoder().decode(matchData.data));
      });
      await socket1.sendMatchState(match.match_id, 20, payload, presenceEvent.joins);
      return Promise.race([received, timedOut]);
    }, generateid(), generateid(), generateid(), payload, adapter, NO_DATA);

    expect(data).not.toBeNull();
    expect(JSON.parse(data)).toEqual(JSON.parse(payload));
  });

  it.each(adapters)("should join a match, then do not send data to excluded presences", async (adapter) => {
    const page = await createPage();

    const outcome = await page.evaluate(async (customid1, customid2, customid3, payload, adapter, noData) => {
      const clients = [new nakamajs.Client(), new nakamajs.Client(), new nakamajs.Client()];
      const [socket1, socket2, socket3] = clients.map((client) => client.createSocket(false, false, socketAdapter(adapter)));

      const session1 = await clients[0].authenticateCustom(customid1);
      await socket1.connect(session1, false);
      let match = await socket1.createMatch();

      const session2 = await clients[1].authenticateCustom(customid2);
      await socket2.connect(session2, false);
      match = await socket2.joinMatch(match.match_id);

      const session3 = await clients[2].authenticateCustom(customid3);
      await socket3.connect(session3, false);

      // socket2 learns socket3's presence from the join's presence event.
      let thirdPresence = null;
      const thirdJoined = new Promise((resolve) => {
        socket2.onmatchpresence = (event) => {
          thirdPresence = event.joins.find((join) => join.user_id == session3.user_id) || thirdPresence;
          if (thirdPresence) resolve();
        };
      });
      await Promise.all([socket3.joinMatch(match.match_id), thirdJoined]);

      const quiet = new Promise((resolve) => setTimeout(() => resolve(noData), 1000));
      const leaked = new Promise((_, reject) => { socket2.onmatchdata = reject; });
      await socket1.sendMatchState(match.match_id, 20, JSON.stringify(payload), [thirdPresence]);
      return Promise.race([leaked, quiet]);
    }, generateid(), generateid(), generateid(), { hello: "world" }, adapter, NO_DATA);

    expect(outcome).toEqual(NO_DATA);
  });

  it.each(adapters)("should create authoritative match, and join with metadata", async (adapter) => {
    const page = await createPage();

    await page.evaluate(async (customid, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      const reply = await socket.rpc("clientrpc.create_authoritative_match", "{}");
      const match = JSON.parse(reply.payload);
      await socket.joinMatch(match.match_id, undefined, { key: "value" });
    }, generateid(), adapter);
  });

  it.each(adapters)("should create authoritative match, list matches without querying", async (adapter) => {
    const page = await createPage();

    const list = await page.evaluate(async (customid, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      await socket.rpc("clientrpc.create_authoritative_match", "{}");
      return await client.listMatches(session, 1, true);
    }, generateid(), adapter);

    expectOneAuthoritativeMatch(list);
  });

  // Creates an authoritative match labelled `label` (JSON) and lists matches with `query`.
  async function listByLabel(adapter, label, query) {
    const page = await createPage();
    return page.evaluate(async (customid, adapter, label, query) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      await socket.rpc("clientrpc.create_authoritative_match", JSON.stringify({ label: JSON.stringify(label) }));
      return await client.listMatches(session, 1, true, "", 0, 100, query);
    }, generateid(), adapter, label, query);
  }

  it.each(adapters)("should create authoritative match, list matches with querying", async (adapter) => {
    expectOneAuthoritativeMatch(await listByLabel(adapter, { skill: 60 }, "+label.skill:>=50"));
  });

  it.each(adapters)("should create authoritative match, list matches with querying arrays", async (adapter) => {
    const convoIds = [generateid(), generateid(), generateid()];
    expectOneAuthoritativeMatch(await listByLabel(adapter, { convo_ids: convoIds }, "+label.convo_ids:" + convoIds[1]));
  });
});
