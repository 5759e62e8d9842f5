// Port of nakama-js v2.8.0 packages/nakama-js-test/client-authenticate.test.ts.
const { createPage } = require("../support/page");
const { createFacebookInstantGameAuthToken, generateid } = require("../support/utils");

function expectSession(session) {
  expect(session).not.toBeNull();
  expect(session.token).not.toBeNull();
}

describe("Authenticate Tests", () => {
  it("should authenticate with email", async () => {
    const page = await createPage();

    const session = await page.evaluate(async (email, password) => {
      const client = new nakamajs.Client();
      return client.authenticateEmail(email, password);
    }, generateid() + "@example.com", generateid());

    expectSession(session);
  });

  it("should authenticate with device id", async () => {
    const page = await createPage();

    const session = await page.evaluate((deviceid) => new nakamajs.Client().authenticateDevice(deviceid), generateid());

    expectSession(session);
  });

  it("should authenticate with custom id", async () => {
    const page = await createPage();

    const session = await page.evaluate((customid) => new nakamajs.Client().authenticateCustom(customid), generateid());

    expectSession(session);
  });

  it("should authenticate with user variables", async () => {
    const page = await createPage();

    const session = await page.evaluate((customid, username) => {
      const client = new nakamajs.Client();
      return client.authenticateCustom(customid, true, username, { testString: "testValue" });
    }, generateid(), generateid());

    expectSession(session);
    expect(session.vars).not.toBeNull();
    expect(session.vars["testString"]).toBe("testValue");
  });

  it("should fail to authenticate with new custom id", async () => {
    const page = await createPage();

    const error = await page.evaluate(async (customid) => {
      try {
        return await new nakamajs.Client().authenticateCustom(customid, false);  // must throw
      } catch (error) {
        return error;
      }
    }, generateid());

    expect(error).not.toBeNull();
  });

  it("should authenticate with custom id twice", async () => {
    const page = await createPage();

    const session = await page.evaluate(async (customid) => {
      const client = new nakamajs.Client();
      await client.authenticateCustom(customid);
      return await client.authenticateCustom(customid);
    }, "someuniquecustomid");

    expectSession(session);
  });

  it("should fail authenticate with custom id", async () => {
    const page = await createPage();

    const error = await page.evaluate(async () => {
      try {
        return await new nakamajs.Client().authenticateCustom("");  // must throw
      } catch (error) {
        return error;
      }
    });

    expect(error).not.toBeNull();
  });

  it.skip("should authenticate with facebook instant games", async () => {
    const page = await createPage();

    const session = await page.evaluate((token) => new nakamajs.Client().authenticateFacebookInstantGame(token),
      createFacebookInstantGameAuthToken("a_player_id"));

    expectSession(session);
  });
});
