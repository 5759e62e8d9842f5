// Port of nakama-js v2.8.0 packages/nakama-js-test/socket-notification.test.ts.
const { createPage } = require("../support/page");
const { generateid } = require("../support/utils");

describe("Notification Tests", () => {
  it("should rpc and list notifications", async () => {
    const page = await createPage();

    const list = await page.evaluate(async (customid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      for (let i = 0; i < 2; i++) {
        await client.rpc(session, "clientrpc.send_notification", { user_id: session.user_id });
      }
      const firstPage = await client.listNotifications(session, 1, "");
      return await client.listNotifications(session, 1, firstPage.cacheable_cursor);
    }, generateid());

    expect(list).not.toBeNull();
    const [notification] = list.notifications;
    expect(notification.id).not.toBeNull();
    expect(notification.content).toEqual({ reward_coins: 1000 });
    expect(notification.subject).toEqual("You've unlocked level 100!");
    expect(notification.code).toEqual(1);
  });

  it("should rpc and delete notification", async () => {
    const page = await createPage();

    const list = await page.evaluate(async (customid) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.rpc(session, "clientrpc.send_notification", { user_id: session.user_id });
      const sent = await client.listNotifications(session, 100, "");
      await client.deleteNotifications(session, sent.notifications.map((notification) => notification.id));
      return client.listNotifications(session, 1, "");
    }, generateid());

    expect(list).not.toBeNull();
    expect(list.notifications).not.toBeNull();
    expect(list.notifications.length).toEqual(0);
  });
});
