// Port of nakama-js v2.8.0 packages/nakama-js-test/socket.test.ts.
const { createPage } = require("../support/page");
const { adapters, generateid } = require("../support/utils");

describe("Socket Message Tests", () => {
  it.each(adapters)("should connect", async (adapter) => {
    const page = await createPage();

    await page.evaluate(async (customid, adapter) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      await socket.connect(session, false);
      socket.disconnect(false);
    }, generateid(), adapter);
  });

  it.each(adapters)("should rpc and receive stream data", async (adapter) => {
    const page = await createPage();
    const payload = JSON.stringify({ hello: "world" });

    const streamData = await page.evaluate(async (customid, rpcId, payload, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const received = new Promise((resolve) => { socket.onstreamdata = resolve; });

      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      await socket.rpc(rpcId, payload);
      const timedOut = new Promise((_, reject) => setTimeout(reject, 5000, "did not receive stream data - timed out."));
      return Promise.race([received, timedOut]);
    }, generateid(), "clientrpc.send_stream_data", payload, adapter);

    expect(streamData).not.toBeNull();
    expect(streamData.data).toBe(payload);
  });
});
