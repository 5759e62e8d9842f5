// Port of nakama-js v2.8.0 packages/nakama-js-test/client-user.test.ts.
const { createPage } = require("../support/page");
const { generateid } = require("../support/utils");

describe("User Tests", () => {
  it("should return current user account", async () => {
    const page = await createPage();

    const account = await page.evaluate(async (customid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      return client.getAccount(session);
    }, generateid());

    expect(account).not.toBeNull();
    expect(account.custom_id).not.toBeNull();
    expect(account.wallet).not.toBeNull();
    expect(account.wallet).toBe("{}");
    expect(account.user).not.toBeNull();
    expect(account.user.id).not.toBeNull();
    expect(account.user.username).not.toBeNull();
    expect(account.user.lang_tag).not.toBeNull();
    expect(account.user.lang_tag).toBe("en");
    expect(account.user.metadata).not.toBeNull();
    expect(account.user.metadata).toBe("{}");
  });

  it("should update current user account", async () => {
    const page = await createPage();
    const profile = { display_name: "display", avatar_url: "avatar", lang_tag: "fa", location: "california" };

    const account = await page.evaluate(async (customid, profile) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.updateAccount(session, profile);
      return await client.getAccount(session);
    }, generateid(), profile);

    expect(account).not.toBeNull();
    for (const [field, value] of Object.entries(profile)) {
      expect(account.user[field]).not.toBeNull();
      expect(account.user[field]).toBe(value);
    }
  });

  it("should update current user with same username", async () => {
    const page = await createPage();
    const customid = generateid();

    const account = await page.evaluate(async (customid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.updateAccount(session, { username: session.username });
      return client.getAccount(session);
    }, customid);

    expect(account).not.toBeNull();
    expect(account.custom_id).toBe(customid);
  });

  it("should return two users", async () => {
    const page = await createPage();

    const users = await page.evaluate(async (customid1, customid2) => {
      const client = new nakamajs.Client();
      const byId = await client.authenticateCustom(customid1);
      const byUsername = await client.authenticateCustom(customid2);
      return await client.getUsers(byUsername, [byId.user_id], [byUsername.username], []);
    }, generateid(), generateid());

    expect(users).not.toBeNull();
    expect(users[0]).not.toBeNull();
    expect(users[1]).not.toBeNull();
  });

  it("should return no users", async () => {
    const page = await createPage();

    const users = await page.evaluate(async (customid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      return await client.getUsers(session, [], [], []);
    }, generateid());

    expect(users).not.toBeNull();
  });
});
