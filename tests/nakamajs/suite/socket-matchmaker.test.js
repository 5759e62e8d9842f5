// Port of nakama-js v2.8.0 packages/nakama-js-test/socket-matchmaker.test.ts.
const { createPage } = require("../support/page");
const { adapters, generateid, matchmakerTimeout } = require("../support/utils");

const NO_MATCH = "did not match.";

// Users sign in, connect and add their tickets one after the other; `tickets[i]` is user i's
// [query, stringProperties, numericProperties] (null: no ticket). Answers the matchmaker_matched
// message user `listener` receives, or, with `waitMs`, NO_MATCH when none came by then.
// `removeFirst`: user 0 removes its ticket before the next user signs in;
// `removeOnTimeout`: every ticket is removed when the wait ends (as the original does in one test).
async function matchmake(adapter, tickets, { listener = 0, waitMs = null, removeFirst = false, removeOnTimeout = false } = {}) {
  const page = await createPage();
  const customids = tickets.map(() => generateid());
  return page.evaluate(async (customids, tickets, adapter, listener, waitMs, removeFirst, removeOnTimeout, noMatch) => {
    const clients = customids.map(() => new nakamajs.Client());
    const sockets = clients.map((client) => client.createSocket(false, false, socketAdapter(adapter)));
    const matched = new Promise((resolve) => { sockets[listener].onmatchmakermatched = resolve; });

    const added = [];
    for (const [i, ticket] of tickets.entries()) {
      const session = await clients[i].authenticateCustom(customids[i]);
      await sockets[i].connect(session, false);
      if (ticket !== null) {
        added.push([sockets[i], await sockets[i].addMatchmaker(ticket[0], 2, 2, ticket[1], ticket[2])]);
      }
      if (i === 0 && removeFirst) {
        await sockets[0].removeMatchmaker(added[0][1].ticket);
      }
    }
    if (waitMs === null) {
      return matched;
    }
    const quiet = new Promise((resolve) => setTimeout(() => {
      if (removeOnTimeout) {
        added.forEach(([socket, ticket]) => socket.removeMatchmaker(ticket.ticket));
      }
      resolve(noMatch);
    }, waitMs));
    return Promise.race([matched, quiet]);
  }, customids, tickets, adapter, listener, waitMs, removeFirst, removeOnTimeout, NO_MATCH);
}

function expectSelfPresence(matched) {
  expect(matched.self).not.toBeNull();
  expect(matched.self.presence.session_id).not.toBeNull();
  expect(matched.self.presence.user_id).not.toBeNull();
  expect(matched.self.presence.username).not.toBeNull();
}

// A relayed match: a token to join with, no match id.
function expectMatchedByToken(matched) {
  expect(matched).not.toBeNull();
  expect(matched.ticket).not.toBeNull();
  expect(matched.match_id).toBeUndefined();
  expect(matched.token).not.toBeNull();
  expect(matched.users).toHaveLength(2);
  expectSelfPresence(matched);
}

describe("Matchmaker Tests", () => {
  it.each(adapters)("should only add to matchmaker", async (adapter) => {
    const page = await createPage();

    const ticket = await page.evaluate(async (customid, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      return await socket.addMatchmaker("properties.a1:foo", 2, 2, { a1: "bar" });
    }, generateid(), adapter);

    expect(ticket).not.toBeNull();
    expect(ticket.ticket).not.toBeNull();
  }, matchmakerTimeout);

  it.each(adapters)("should add and remove from matchmaker", async (adapter) => {
    const page = await createPage();

    const reply = await page.evaluate(async (customid, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      const ticket = await socket.addMatchmaker("properties.a2:foo", 2, 2, { a2: "bar" });
      return await socket.removeMatchmaker(ticket.ticket);
    }, generateid(), adapter);

    expect(reply).not.toBeNull();
  }, matchmakerTimeout);

  it.each(adapters)("should add to matchmaker and do basic match", async (adapter) => {
    const matched = await matchmake(adapter, [
      ["properties.a3:bar", { a3: "baz" }],
      ["properties.a3:baz", { a3: "bar" }],
    ]);

    expect(matched).not.toBeNull();
    expect(matched.match_id).toBeUndefined();
    expect(matched.token).not.toBeNull();
    expect(matched.users).toHaveLength(2);
    expectSelfPresence(matched);
  }, matchmakerTimeout);

  it.each(adapters)("should add to matchmaker and match on range", async (adapter) => {
    const ticket = ["+properties.b1:>=10 +properties.b1:<=20", {}, { b1: 15 }];
    expectMatchedByToken(await matchmake(adapter, [ticket, ticket]));
  }, matchmakerTimeout);

  it.each(adapters)("should add to matchmaker and match on range and value", async (adapter) => {
    const ticket = ["+properties.c1:>=10 +properties.c1:<=20 +properties.c2:foo", { c2: "foo" }, { c1: 15 }];
    expectMatchedByToken(await matchmake(adapter, [ticket, ticket]));
  }, matchmakerTimeout);

  it.each(adapters)("should add to matchmaker then remove and not match", async (adapter) => {
    const outcome = await matchmake(adapter, [["properties.a4:bar", { a4: "baz" }], null],
      { listener: 1, waitMs: 5000, removeFirst: true });

    expect(outcome).not.toBeNull();
    expect(outcome).toBe(NO_MATCH);
  }, matchmakerTimeout);

  it.each(adapters)("should add to matchmaker but not match", async (adapter) => {
    const ticket = ["properties.a5:bar", { a5: "baz" }];
    const outcome = await matchmake(adapter, [ticket, ticket], { waitMs: 5000 });

    expect(outcome).not.toBeNull();
    expect(outcome).toBe(NO_MATCH);
  }, matchmakerTimeout);

  // A property of this test's own (id) keeps tickets of other runs out.
  it.each(adapters)("should add to matchmaker but not match on range", async (adapter) => {
    const testId = generateid();
    const query = "+properties.b2:>=10 +properties.b2:<=20 +properties.id:" + testId;
    const outcome = await matchmake(adapter, [[query, { id: testId }, { b2: 25 }], [query, { id: testId }, { b2: 15 }]],
      { waitMs: 5000, removeOnTimeout: true });

    expect(outcome).not.toBeNull();
    expect(outcome).toBe(NO_MATCH);
  }, matchmakerTimeout);

  it.each(adapters)("should add to matchmaker but not match on range and value", async (adapter) => {
    const testId = generateid();
    const query = "+properties.c3:>=10 +properties.c3:<=20 +properties.c4:foo +properties.id:" + testId;
    const properties = { c4: "foo", id: testId };
    const outcome = await matchmake(adapter, [[query, properties, { c3: 25 }], [query, properties, { c3: 15 }]],
      { waitMs: 5000 });

    expect(outcome).not.toBeNull();
    expect(outcome).toBe(NO_MATCH);
  }, matchmakerTimeout);

  it.each(adapters)("should add multiple to matchmaker and not match", async (adapter) => {
    const testId = generateid();
    const ticket = ["properties.a6:bar +properties.id:" + testId, { a6: "bar", id: testId }];
    const outcome = await matchmake(adapter, [ticket, ticket, ticket], { listener: 2, waitMs: 5000 });

    expect(outcome).not.toBeNull();
    expect(outcome).toBe(NO_MATCH);
  }, matchmakerTimeout);

  // The server's matchmaker-matched hook makes an authoritative match for two "authoritative" users.
  it.each(adapters)("should add to matchmaker and match authoritative", async (adapter) => {
    const ticket = ["properties.d1:foo", { d1: "foo", mode: "authoritative" }];
    const matched = await matchmake(adapter, [ticket, ticket]);

    expect(matched).not.toBeNull();
    expect(matched.ticket).not.toBeNull();
    expect(matched.match_id).not.toBeNull();
    expect(matched.token).toBeUndefined();
    expect(matched.users).toHaveLength(2);
    expectSelfPresence(matched);
  }, matchmakerTimeout);
});
