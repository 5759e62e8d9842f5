// Port of nakama-js v2.8.0 packages/nakama-js-test/client.test.ts.
const { createPage } = require("../support/page");

describe("Client Tests", () => {
  it("should create object with defaults", async () => {
    const page = await createPage();

    const client = await page.evaluate(() => new nakamajs.Client());

    expect(client).not.toBeNull();
    expect(client.serverkey).toBe("defaultkey");
    expect(client.host).toBe("127.0.0.1");
    expect(client.port).toBe("7350");
    expect(client.useSSL).toBe(false);
    expect(client.timeout).toBe(7000);
  });

  it("should create object with configuration", async () => {
    const page = await createPage();
    const settings = { serverkey: "somesecret!", host: "127.0.0.2", port: "8080", useSSL: true, timeout: 8000 };

    const client = await page.evaluate(({ serverkey, host, port, useSSL, timeout }) =>
      new nakamajs.Client(serverkey, host, port, useSSL, timeout), settings);

    expect(client).not.toBeNull();
    for (const [field, value] of Object.entries(settings)) {
      expect(client[field]).toBe(value);
    }
  });

  it("should obey timeout configuration option", async () => {
    const page = await createPage();

    const error = await page.evaluate(() => {
      const client = new nakamajs.Client("defaultkey", "127.0.0.1", "7350", false, 0);
      return client.authenticateCustom("timeoutuseridentifier").catch((error) => error);
    });

    expect(error).not.toBeNull();
    expect(error).toBe("Request timed out.");
  });
});
