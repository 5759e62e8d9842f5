// Port of nakama-js v2.8.0 packages/nakama-js-test/socket-status.test.ts.
const { createPage } = require("../support/page");
const { adapters, generateid } = require("../support/utils");

describe("Status Tests", () => {
  it.each(adapters)("should create status, and then update it", async (adapter) => {
    const page = await createPage();

    const reply = await page.evaluate(async (customid, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, true);
      return socket.updateStatus("hello-world");
    }, generateid(), adapter);

    expect(reply).not.toBeNull();
  });

  it.each(adapters)("should follow user2, and get status update when coming online", async (adapter) => {
    const page = await createPage();

    const event = await page.evaluate(async (customid1, customid2, adapter) => {
      const follower = new nakamajs.Client();
      const followed = new nakamajs.Client();
      const followedSocket = followed.createSocket(false, false, socketAdapter(adapter));
      const followerSocket = follower.createSocket(false, false, socketAdapter(adapter));

      const followerSession = await follower.authenticateCustom(customid1);
      const followedSession = await followed.authenticateCustom(customid2);
      await followerSocket.connect(followerSession, true);
      await followerSocket.followUsers([followedSession.user_id]);

      const presence = new Promise((resolve) => { followerSocket.onstatuspresence = resolve; });
      const timedOut = followedSocket.connect(followedSession, true).then(
        () => new Promise((_, reject) => setTimeout(reject, 2500, "did not receive match data - timed out.")));
      return Promise.race([presence, timedOut]);
    }, generateid(), generateid(), adapter);

    expect(event).not.toBeNull();
    expect(event.joins.length).toEqual(1);
  });

  it.each(adapters)("should follow user2, and unfollow user2", async (adapter) => {
    const page = await createPage();

    const reply = await page.evaluate(async (customid1, customid2, adapter) => {
      const follower = new nakamajs.Client();
      const followed = new nakamajs.Client();
      const followerSocket = follower.createSocket(false, false, socketAdapter(adapter));

      const followerSession = await follower.authenticateCustom(customid1);
      const followedSession = await followed.authenticateCustom(customid2);
      await followerSocket.connect(followerSession, true);
      await followerSocket.followUsers([followedSession.user_id]);
      return followerSocket.unfollowUsers([followedSession.user_id]);
    }, generateid(), generateid(), adapter);

    expect(reply).not.toBeNull();
  });
});
