// Port of nakama-js v2.8.0 packages/nakama-js-test/socket-party.test.ts.
// createParty(open, maxSize). As in the original, most party calls are not awaited: the tests wait
// for the events they cause.
const { createPage } = require("../support/page");
const { adapters, generateid, matchmakerTimeout } = require("../support/utils");

// Page helpers of the party tests (run in the page, so they only use page globals).
function inPagePartyHelpers() {
  // The next message of a kind a socket receives (that `accept` takes), e.g. nextEvent(socket, "onpartypresence").
  globalThis.nextEvent = function (socket, handler, accept = () => true) {
    return new Promise((resolve) => {
      socket[handler] = (message) => { if (accept(message)) resolve(message); };
    });
  };
  // Users with a connected socket each, in order: [{client, session, socket}, ...].
  globalThis.connectUsers = async function (adapter, ...customids) {
    const clients = customids.map(() => new nakamajs.Client());
    const sockets = clients.map((client) => client.createSocket(false, false, socketAdapter(adapter)));
    const sessions = [];
    for (const [i, customid] of customids.entries()) {
      sessions.push(await clients[i].authenticateCustom(customid));
    }
    for (const [i, socket] of sockets.entries()) {
      await socket.connect(sessions[i], false);
    }
    return clients.map((client, i) => ({ client, session: sessions[i], socket: sockets[i] }));
  };
  // The leader's closed party of 3 with a second user admitted: [partyPresenceEvent, joinRequest].
  globalThis.closedPartyWithMember = async function (leader, member) {
    const created = nextEvent(leader, "onpartypresence");
    leader.createParty(false, 3);
    const presence = await created;
    const requested = nextEvent(leader, "onpartyjoinrequest");
    member.joinParty(presence.party_id);
    const request = await requested;
    await leader.acceptPartyMember(request.party_id, request.presences[0]);
    return [presence, request];
  };
}

async function createPartyPage() {
  const page = await createPage();
  await page.evaluate(inPagePartyHelpers);
  return page;
}

describe("Party Tests", () => {
  it.each(adapters)("should create party and receive presence", async (adapter) => {
    const page = await createPartyPage();

    const presence = await page.evaluate(async (customid, adapter) => {
      const [{ socket }] = await connectUsers(adapter, customid);
      const created = nextEvent(socket, "onpartypresence");
      socket.createParty(false, 3);
      return created;
    }, generateid(), adapter);

    expect(presence).not.toBeNull;  // as in the original: not a call, so no assertion
    expect(presence.party_id).toBeDefined;  // as in the original: not a call, so no assertion
    expect(presence.joins.length).toEqual(1);
  });

  it.each(adapters)("should create closed party and accept member", async (adapter) => {
    const page = await createPartyPage();

    const presence = await page.evaluate(async (customid1, customid2, adapter) => {
      const [{ socket: leader }, { socket: member }] = await connectUsers(adapter, customid1, customid2);
      const created = nextEvent(leader, "onpartypresence");
      leader.createParty(false, 3);
      const { party_id } = await created;
      const requested = nextEvent(leader, "onpartyjoinrequest");
      member.joinParty(party_id);
      const request = await requested;
      const joined = nextEvent(leader, "onpartypresence");
      leader.acceptPartyMember(request.party_id, request.presences[0]);
      return joined;
    }, generateid(), generateid(), adapter);

    expect(presence).toBeDefined();
  });

  it.each(adapters)("should only create open party and only have member join", async (adapter) => {
    const page = await createPartyPage();

    const presence = await page.evaluate(async (customid1, customid2, adapter) => {
      const [{ socket: leader }, { socket: member }] = await connectUsers(adapter, customid1, customid2);
      const created = nextEvent(leader, "onpartypresence");
      leader.createParty(true, 3);
      const { party_id } = await created;
      const joined = nextEvent(leader, "onpartypresence");
      member.joinParty(party_id);
      return joined;
    }, generateid(), generateid(), adapter);

    expect(presence).toBeDefined();
  });

  it.each(adapters)("should create open party and have member join and send data", async (adapter) => {
    const page = await createPartyPage();

    const data = await page.evaluate(async (customid1, customid2, adapter) => {
      const [{ socket: leader }, { socket: member }] = await connectUsers(adapter, customid1, customid2);
      const created = nextEvent(leader, "onpartypresence");
      leader.createParty(true, 3);
      const { party_id } = await created;
      const joined = nextEvent(leader, "onpartypresence");
      member.joinParty(party_id);
      await joined;
      const received = nextEvent(member, "onpartydata");
      leader.sendPartyData(party_id, 1, JSON.stringify({ hello: "world" }));
      return new TextDecoder().decode((await received).data);
    }, generateid(), generateid(), adapter);

    expect(data).toBeDefined();
    expect(JSON.parse(data).hello).toEqual("world");
  });

  it.each(adapters)("should create closed party and have member join and then removed", async (adapter) => {
    const page = await createPartyPage();

    const presence = await page.evaluate(async (customid1, customid2, adapter) => {
      const [{ socket: leader }, { socket: member }] = await connectUsers(adapter, customid1, customid2);
      const [, request] = await closedPartyWithMember(leader, member);
      leader.removePartyMember(request.party_id, request.presences[0]);
      return nextEvent(leader, "onpartypresence", (event) => event.leaves?.length > 0);
    }, generateid(), generateid(), adapter);

    expect(presence).toBeDefined();
    expect(presence.leaves).toHaveLength(1);
  });

  it.each(adapters)("should create closed party and have member join and then promoted", async (adapter) => {
    const page = await createPartyPage();

    const leader = await page.evaluate(async (customid1, customid2, adapter) => {
      const [{ socket: leader }, { socket: member }] = await connectUsers(adapter, customid1, customid2);
      const [, request] = await closedPartyWithMember(leader, member);
      leader.promotePartyMember(request.party_id, request.presences[0]);
      return nextEvent(leader, "onpartyleader");
    }, generateid(), generateid(), adapter);

    expect(leader).toBeDefined();
    expect(leader.presence).toBeDefined();
  });

  it.each(adapters)("should create closed party and have member join and then join match", async (adapter) => {
    const page = await createPartyPage();

    const matched = await page.evaluate(async (customid1, customid2, customid3, adapter) => {
      const [{ socket: leader }, { socket: member }, { socket: solo }] =
        await connectUsers(adapter, customid1, customid2, customid3);
      const [presence] = await closedPartyWithMember(leader, member);
      await solo.addMatchmaker("*", 3, 3);
      leader.addMatchmakerParty(presence.party_id, "*", 3, 3);
      return nextEvent(leader, "onmatchmakermatched");
    }, generateid(), generateid(), generateid(), adapter);

    expect(matched).toBeDefined();
    expect(matched.token).toBeDefined();
    expect(matched.users.length).toEqual(3);
    expect(matched.self.party_id).toBeDefined();
  }, matchmakerTimeout);

  it.each(adapters)("should create party and add matchmaker and leave matchmaker", async (adapter) => {
    const page = await createPartyPage();

    const ticket = await page.evaluate(async (customid1, customid2, adapter) => {
      const [{ socket: leader }, { socket: member }] = await connectUsers(adapter, customid1, customid2);
      const party = await leader.createParty(true, 1);
      await member.joinParty(party.party_id);
      const memberTicket = nextEvent(member, "onpartymatchmakerticket");
      const leaderTicket = leader.addMatchmakerParty(party.party_id, "*", 3, 3);
      const [ticket] = await Promise.all([leaderTicket, memberTicket]);
      await leader.removeMatchmakerParty(ticket.party_id, ticket.ticket);
      return leaderTicket;
    }, generateid(), generateid(), adapter);

    expect(ticket).toBeDefined();
    expect(ticket.party_id).toBeDefined();
    expect(ticket.ticket).toBeDefined();
  });
});
