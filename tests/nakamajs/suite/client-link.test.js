// Port of nakama-js v2.8.0 packages/nakama-js-test/client-link.test.ts.
const { createPage } = require("../support/page");
const { createFacebookInstantGameAuthToken, generateid } = require("../support/utils");

describe("Link / Unlink Tests", () => {
  it("should link device ID", async () => {
    const page = await createPage();

    const account = await page.evaluate(async (customid, deviceid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.linkDevice(session, { id: deviceid });
      return await client.getAccount(session);
    }, generateid(), generateid());

    expect(account).not.toBeNull();
    expect(account.custom_id).not.toBeNull();
    expect(account.devices[0]).not.toBeNull();
  });

  it("should unlink device ID", async () => {
    const page = await createPage();

    const account = await page.evaluate(async (customid, deviceid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.linkDevice(session, { id: deviceid });
      await client.unlinkDevice(session, { id: deviceid });
      return await client.getAccount(session);
    }, generateid(), generateid());

    expect(account).not.toBeNull();
    expect(account.custom_id).not.toBeNull();
    expect(account.hasOwnProperty("devices")).toBe(false);
  });

  // Optional in the original: needs the server's Facebook Instant Games secret.
  it.skip("should link to facebook instant games", async () => {
    const page = await createPage();

    const account = await page.evaluate(async (customid, token) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.linkFacebookInstantGame(session, { signed_player_info: token });
      return await client.getAccount(session);
    }, generateid(), createFacebookInstantGameAuthToken(generateid()));

    expect(account).not.toBeNull();
    expect(account.user.facebook_instant_game_id).not.toBeUndefined();
  });

  // Optional in the original: needs the server's Facebook Instant Games secret.
  it.skip("should unlink to facebook instant games", async () => {
    const page = await createPage();

    const account = await page.evaluate(async (customid, token) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.linkFacebookInstantGame(session, { signed_player_info: token });
      await client.unlinkFacebookInstantGame(session, { signed_player_info: token });
      return await client.getAccount(session);
    }, generateid(), createFacebookInstantGameAuthToken(generateid()));

    expect(account).not.toBeNull();
    expect(account.user.facebook_instant_game_id).toBeUndefined();
  });
});
