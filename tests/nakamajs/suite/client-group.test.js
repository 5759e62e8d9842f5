// Port of nakama-js v2.8.0 packages/nakama-js-test/client-group.test.ts.
// Group user states: 0 superadmin, 1 admin, 2 member, 3 join request.
const { createPage } = require("../support/page");
const { generateid } = require("../support/utils");

// The originals check a pair of states in either order (the list's order is not specified).
function expectStatePair(groupUsers, states) {
  expect(groupUsers.length).toBe(2);
  expect(groupUsers.map((groupUser) => groupUser.state).sort()).toEqual([...states].sort());
}

function expectOneGroup(userGroups, name, edgeCount) {
  expect(userGroups.user_groups.length).toBe(1);
  const [{ group, state }] = userGroups.user_groups;
  expect(group.name).toBe(name);
  expect(group.edge_count).toBe(edgeCount);
  expect(group.max_count).toBe(100);
  expect(group.metadata).toEqual({});
  expect(group.open).toBe(true);
  expect(state).toBe(0);
}

describe("Group Tests", () => {
  it("should create group", async () => {
    const page = await createPage();
    const name = generateid();

    const group = await page.evaluate(async (customid, name) => {
      const [{ client, session }] = await signInCustom(customid);
      return await client.createGroup(session, { name, open: true });
    }, generateid(), name);

    expect(group).not.toBeNull();
    expect(group.name).toBe(name);
    expect(group.edge_count).toBe(1);
    expect(group.max_count).toBe(100);
    expect(group.metadata).toEqual({});
    expect(group.open).toBe(true);
  });

  it("should create then list group", async () => {
    const page = await createPage();
    const name = generateid();

    const userGroups = await page.evaluate(async (customid, name) => {
      const [{ client, session }] = await signInCustom(customid);
      await client.createGroup(session, { name, open: true });
      return await client.listUserGroups(session, session.user_id);
    }, generateid(), name);

    expect(userGroups).not.toBeNull();
    expectOneGroup(userGroups, name, 1);
  });

  it("should create, update, then list group", async () => {
    const page = await createPage();
    const newName = generateid();

    const userGroups = await page.evaluate(async (customid, name, newName) => {
      const [{ client, session }] = await signInCustom(customid);
      const group = await client.createGroup(session, { name, open: true });
      await client.updateGroup(session, group.id, { name: newName });
      return await client.listUserGroups(session, session.user_id);
    }, generateid(), generateid(), newName);

    expect(userGroups).not.toBeNull();
    expectOneGroup(userGroups, newName, 1);
  });

  it("should create, delete, then list group", async () => {
    const page = await createPage();

    const userGroups = await page.evaluate(async (customid, name) => {
      const [{ client, session }] = await signInCustom(customid);
      const group = await client.createGroup(session, { name, open: true });
      await client.deleteGroup(session, group.id);
      return await client.listUserGroups(session, session.user_id);
    }, generateid(), generateid());

    expect(userGroups).not.toBeNull();
    expect(userGroups.user_groups.length).toBe(0);
  });

  it("should create then list group users", async () => {
    const page = await createPage();

    const groupUsers = await page.evaluate(async (customid, name) => {
      const [{ client, session }] = await signInCustom(customid);
      const group = await client.createGroup(session, { name, open: true });
      return await client.listGroupUsers(session, group.id);
    }, generateid(), generateid());

    expect(groupUsers).not.toBeNull();
    expect(groupUsers.group_users.length).toBe(1);
    expect(groupUsers.group_users[0].state).toBe(0);
  });

  // A second user joins (or asks to join) a group the first one creates; then `steps` run in order
  // ("leave" by that user, "add" or "kick" by the owner) and the owner lists the group's users or their groups.
  async function joinThen(open, steps, listing) {
    const page = await createPage();
    return page.evaluate(async (customid1, customid2, name, open, steps, listing) => {
      const [{ client: client1, session: session1 }] = await signInCustom(customid1);
      const group = await client1.createGroup(session1, { name, open });
      const [{ client: client2, session: session2 }] = await signInCustom(customid2);
      await client2.joinGroup(session2, group.id);
      for (const step of steps) {
        if (step === "leave") await client2.leaveGroup(session2, group.id);
        if (step === "add") await client1.addGroupUsers(session1, group.id, [session2.user_id]);
        if (step === "kick") await client1.kickGroupUsers(session1, group.id, [session2.user_id]);
      }
      return listing === "group users"
        ? await client1.listGroupUsers(session1, group.id)
        : await client1.listUserGroups(session1, session1.user_id);
    }, generateid(), generateid(), generateid(), open, steps, listing);
  }

  it("should create, join, then list group users", async () => {
    const groupUsers = await joinThen(true, [], "group users");
    expect(groupUsers).not.toBeNull();
    expectStatePair(groupUsers.group_users, [0, 2]);
  });

  // Adds a second user to a group the first one creates, then has the owner run `steps`
  // ("kick", "promote", "ban") on them, and lists the group's users.
  async function addThen(steps) {
    const page = await createPage();
    return page.evaluate(async (customid1, customid2, name, steps) => {
      const [{ client: client1, session: session1 }, { session: session2 }] = await signInCustom(customid1, customid2);
      const group = await client1.createGroup(session1, { name, open: true });
      await client1.addGroupUsers(session1, group.id, [session2.user_id]);
      for (const step of steps) {
        if (step === "kick") await client1.kickGroupUsers(session1, group.id, [session2.user_id]);
        if (step === "promote") await client1.promoteGroupUsers(session1, group.id, [session2.user_id]);
        if (step === "ban") await client1.banGroupUsers(session1, group.id, [session2.user_id]);
      }
      return await client1.listGroupUsers(session1, group.id);
    }, generateid(), generateid(), generateid(), steps);
  }

  it("should create, add, then list group users", async () => {
    const groupUsers = await addThen([]);
    expect(groupUsers).not.toBeNull();
    expectStatePair(groupUsers.group_users, [0, 2]);
  });

  it("should create, add, kick, then list group users", async () => {
    const groupUsers = await addThen(["kick"]);
    expect(groupUsers).not.toBeNull();
    expect(groupUsers.group_users.length).toBe(1);
    expect(groupUsers.group_users[0].state).toBe(0);
  });

  it("should create closed, request to join, then list group users", async () => {
    const groupUsers = await joinThen(false, [], "group users");
    expect(groupUsers).not.toBeNull();
    expectStatePair(groupUsers.group_users, [0, 3]);
  });

  it("should create open, join, then list user groups and see count affected", async () => {
    const userGroups = await joinThen(true, [], "user groups");
    expect(userGroups).not.toBeNull();
    expect(userGroups.user_groups.length).toBe(1);
    expect(userGroups.user_groups[0].group.edge_count).toBe(2);
  });

  it("should create closed, request to join, then list user groups and see count unaffected", async () => {
    const userGroups = await joinThen(false, [], "user groups");
    expect(userGroups).not.toBeNull();
    expect(userGroups.user_groups.length).toBe(1);
    expect(userGroups.user_groups[0].group.edge_count).toBe(1);
  });

  it("should create closed, request to join, add, then list user groups and see count affected", async () => {
    const userGroups = await joinThen(false, ["add"], "user groups");
    expect(userGroups).not.toBeNull();
    expect(userGroups.user_groups.length).toBe(1);
    expect(userGroups.user_groups[0].group.edge_count).toBe(2);
  });

  // As in the original, "promote" here is the owner accepting the request (adding the user).
  it("should create closed group, request to join, promote, then list user groups and see count affected", async () => {
    const userGroups = await joinThen(false, ["add"], "user groups");
    expect(userGroups).not.toBeNull();
    expect(userGroups.user_groups.length).toBe(1);
    expect(userGroups.user_groups[0].group.edge_count).toBe(2);
  });

  it("should create open, join, leave, then list user groups and see count affected", async () => {
    const userGroups = await joinThen(true, ["leave"], "user groups");
    expect(userGroups).not.toBeNull();
    expect(userGroups.user_groups.length).toBe(1);
    expect(userGroups.user_groups[0].group.edge_count).toBe(1);
  });

  it("should create closed, request to join, leave, then list user groups and see count unaffected", async () => {
    const userGroups = await joinThen(false, ["leave"], "user groups");
    expect(userGroups).not.toBeNull();
    expect(userGroups.user_groups.length).toBe(1);
    expect(userGroups.user_groups[0].group.edge_count).toBe(1);
  });

  it("should create closed, request to join, add, then list group users", async () => {
    const groupUsers = await joinThen(false, ["add"], "group users");
    expect(groupUsers).not.toBeNull();
    expectStatePair(groupUsers.group_users, [0, 2]);
  });

  // As in the original, "promote" here is the owner accepting the request (adding the user).
  it("should create closed, request to join, promote, then list group users", async () => {
    const groupUsers = await joinThen(false, ["add"], "group users");
    expect(groupUsers).not.toBeNull();
    expectStatePair(groupUsers.group_users, [0, 2]);
  });

  it("should create closed, request to join, kick, then list group users", async () => {
    const groupUsers = await joinThen(false, ["kick"], "group users");
    expect(groupUsers).not.toBeNull();
    expect(groupUsers.group_users.length).toBe(1);
    expect(groupUsers.group_users[0].state).toBe(0);
  });

  it("should create, add, promote, then list group users", async () => {
    const groupUsers = await addThen(["promote"]);
    expect(groupUsers).not.toBeNull();
    expectStatePair(groupUsers.group_users, [0, 1]);
  });

  it("should create, add, promote twice, then list group users", async () => {
    const groupUsers = await addThen(["promote", "promote"]);
    expect(groupUsers).not.toBeNull();
    expect(groupUsers.group_users.length).toBe(2);
    expect(groupUsers.group_users[0].state).toBe(0);
    expect(groupUsers.group_users[1].state).toBe(0);
  });

  it("should create, join, leave, then list group users", async () => {
    const groupUsers = await joinThen(true, ["leave"], "group users");
    expect(groupUsers).not.toBeNull();
    expect(groupUsers.group_users.length).toBe(1);
    expect(groupUsers.group_users[0].state).toBe(0);
  });

  it("should create closed, request to join, leave, then list group users", async () => {
    const groupUsers = await joinThen(false, ["leave"], "group users");
    expect(groupUsers).not.toBeNull();
    expect(groupUsers.group_users.length).toBe(1);
    expect(groupUsers.group_users[0].state).toBe(0);
  });

  it("should create, add, promote, add, promote, then list group users", async () => {
    const page = await createPage();

    const groupUsers = await page.evaluate(async (customid1, customid2, customid3, name) => {
      const [{ client: client1, session: session1 }, { client: client2, session: session2 }, { session: session3 }] =
        await signInCustom(customid1, customid2, customid3);
      const group = await client1.createGroup(session1, { name, open: true });
      await client1.addGroupUsers(session1, group.id, [session2.user_id]);
      await client1.promoteGroupUsers(session1, group.id, [session2.user_id]);
      await client2.addGroupUsers(session2, group.id, [session3.user_id]);
      await client2.promoteGroupUsers(session2, group.id, [session3.user_id]);
      return await client1.listGroupUsers(session1, group.id);
    }, generateid(), generateid(), generateid(), generateid());

    expect(groupUsers).not.toBeNull();
    expect(groupUsers.group_users).not.toBeNull();
    expect(groupUsers.group_users.length).toBe(3);
  });

  it("should create, list group", async () => {
    const page = await createPage();

    const groups = await page.evaluate(async (customid, name) => {
      const [{ client, session }] = await signInCustom(customid);
      await client.createGroup(session, { name, open: true });
      return await client.listGroups(session, "%" + name + "%");
    }, generateid(), generateid());

    expect(groups).not.toBeNull();
    expect(groups.groups).not.toBeNull();
    expect(groups.groups.length).toBe(1);
    expect(groups.cursor).not.toBeNull();
  });

  // A banned user is only seen to be gone from the group's users (as the original notes).
  it("should create, add, ban, then list group users", async () => {
    const groupUsers = await addThen(["ban"]);
    expect(groupUsers).not.toBeNull();
    expect(groupUsers.group_users).not.toBeNull();
    expect(groupUsers.group_users.length).toBe(1);
  });

  it("should create group and fail to demote superadmin", async () => {
    const page = await createPage();

    const groupUsers = await page.evaluate(async (customid, name) => {
      const [{ client, session }] = await signInCustom(customid);
      const group = await client.createGroup(session, { name, open: true });
      await client.demoteGroupUsers(session, group.id, [session.user_id]);
      return await client.listGroupUsers(session, group.id, 0);
    }, generateid(), generateid());

    expect(groupUsers.group_users[0].state).toBe(0);
  });

  // The owner adds a second user, then runs `selfSteps` ("promote", "demote") on themself and
  // lists the group's members (state 2).
  async function ownerChangesOwnRole(selfSteps) {
    const page = await createPage();
    return page.evaluate(async (customid1, customid2, name, selfSteps) => {
      const [{ client: client1, session: session1 }, { session: session2 }] = await signInCustom(customid1, customid2);
      const group = await client1.createGroup(session1, { name, open: true });
      await client1.addGroupUsers(session1, group.id, [session2.user_id]);
      for (const step of selfSteps) {
        if (step === "promote") await client1.promoteGroupUsers(session1, group.id, [session1.user_id]);
        if (step === "demote") await client1.demoteGroupUsers(session1, group.id, [session1.user_id]);
      }
      return await client1.listGroupUsers(session1, group.id, 2);
    }, generateid(), generateid(), generateid(), selfSteps);
  }

  it("should create group, add user and promote and demote them", async () => {
    const members = await ownerChangesOwnRole(["promote", "demote"]);
    expect(members.group_users.length).toBe(1);
  });

  it("should create group, add user and fail to demote lowest-ranking user", async () => {
    const members = await ownerChangesOwnRole(["demote"]);
    expect(members.group_users.length).toBe(1);
  });
});
