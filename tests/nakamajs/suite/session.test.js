// Port of nakama-js v2.8.0 packages/nakama-js-test/session.test.ts.
const { createPage } = require("../support/page");
const { generateid } = require("../support/utils");

// A token of the originals' test user, long expired: {"exp":1516910973,"uid":"f4158f2b-...","usn":"vTGdGHyxvl"}.
const EXPIRED_JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE1MTY5MTA5NzMsInVpZCI6ImY0MTU4ZjJiLTgwZjMtNDkyNi05NDZiLWE4Y2NmYzE2NTQ5MCIsInVzbiI6InZUR2RHSHl4dmwifQ.gzLaMQPaj5wEKoskOSALIeJLOYXEVFoPx3KY0Jm1EVU";

describe("Session Tests", () => {
  it("should be expired", async () => {
    const page = await createPage();

    const expired = await page.evaluate((jwt) =>
      nakamajs.Session.restore(jwt, jwt).isexpired(Math.floor(Date.now() / 1000)), EXPIRED_JWT);

    expect(expired).toBeTruthy();
  });

  it("should have username and userId", async () => {
    const page = await createPage();

    const session = await page.evaluate((jwt) => nakamajs.Session.restore(jwt, jwt), EXPIRED_JWT);

    expect(session.username).not.toBeNull();
    expect(session.username).toBe("vTGdGHyxvl");
    expect(session.user_id).not.toBeNull();
    expect(session.user_id).toBe("f4158f2b-80f3-4926-946b-a8ccfc165490");
  });

  it("restored should have refresh token", async () => {
    const page = await createPage();

    const session = await page.evaluate((jwt) => nakamajs.Session.restore(jwt, jwt), EXPIRED_JWT);

    expect(session.refresh_token).not.toBeNull();
    expect(session.refresh_token).not.toBeUndefined();
    expect(session.refresh_token).not.toBe("");
  });

  it("restored should handle null refresh token", async () => {
    const page = await createPage();

    await page.evaluate((jwt) => nakamajs.Session.restore(jwt, null), EXPIRED_JWT);
  });

  it("should refresh", async () => {
    const page = await createPage();

    const tokens = await page.evaluate(async (customid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      const firstToken = session.token;
      await timeoutPromise(1000);
      const refreshed = await client.sessionRefresh(session);
      return { firstToken, secondToken: refreshed.token };
    }, generateid());

    expect(tokens.secondToken).not.toBeNull();
    expect(tokens.secondToken).not.toBeUndefined();
    expect(tokens.secondToken).not.toEqual(tokens.firstToken);
  });

  it("should logout", async () => {
    const page = await createPage();

    const status = await page.evaluate(async (customid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.sessionLogout(session, session.token, session.refresh_token);
      try {
        await client.writeStorageObjects(session, [{ collection: "collection", key: "this should fail", value: {} }]);
        return null;
      } catch (error) {
        return error.status;
      }
    }, generateid());

    expect(status).toEqual(401);
  });

  it("should autorefresh session", async () => {
    const page = await createPage();

    const tokens = await page.evaluate(async (customid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      const firstToken = session.token;
      // Within the client's refresh margin: its next call refreshes the session first.
      session.expires_at = (Date.now() + client.expiredTimespanMs) / 1000 - 1;
      await timeoutPromise(1000);
      await client.writeStorageObjects(session, [{ collection: "collection", key: "this should succeed", value: {} }]);
      return { firstToken, secondToken: session.token };
    }, generateid());

    expect(tokens.secondToken).not.toBeNull();
    expect(tokens.secondToken).not.toBeUndefined();
    expect(tokens.secondToken).not.toEqual(tokens.firstToken);
  });
});
