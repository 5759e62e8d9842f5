// Port of nakama-js v2.8.0 packages/nakama-js-test/client-rpc.test.ts.
const { createPage } = require("../support/page");
const { generateid } = require("../support/utils");

describe("RPC Tests", () => {
  it("should send rpc", async () => {
    const page = await createPage();

    const reply = await page.evaluate(async (customid, rpcId) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      return await client.rpc(session, rpcId, {});
    }, generateid(), "clientrpc.rpc_get");

    expect(reply).not.toBeNull();
  });

  it("should send rpc with payload", async () => {
    const page = await createPage();
    const input = { hello: "world" };

    const reply = await page.evaluate(async (customid, rpcId, input) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      return await client.rpc(session, rpcId, input);
    }, generateid(), "clientrpc.rpc", input);

    expect(reply).not.toBeNull();
    expect(reply.payload).not.toBeNull();
    expect(reply.payload).toEqual(input);
  });

  it("should send rpc with httpKey", async () => {
    const page = await createPage();

    const reply = await page.evaluate(async (rpcId, httpKey) =>
      await new nakamajs.Client().rpcHttpKey(httpKey, rpcId, null), "clientrpc.rpc_get", "defaulthttpkey");

    expect(reply).not.toBeNull();
  });
});
