// Port of nakama-js v2.8.0 packages/nakama-js-test/socket-channel.test.ts.
// joinChat's type: 1 room, 2 direct message, 3 group.
const { createPage } = require("../support/page");
const { adapters, generateid } = require("../support/utils");

describe("Channel Tests", () => {
  it.each(adapters)("should join a channel", async (adapter) => {
    const page = await createPage();

    const channel = await page.evaluate(async (customid, roomName, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      return await socket.joinChat(roomName, 1, true, false);
    }, generateid(), generateid(), adapter);

    expect(channel).not.toBeNull();
    expect(channel.id).not.toBeNull();
    expect(channel.presences).not.toBeNull();
    expect(channel.self).not.toBeNull();
  });

  it.each(adapters)("should join a room, then leave it", async (adapter) => {
    const page = await createPage();

    const reply = await page.evaluate(async (customid, roomName, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, true, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      const channel = await socket.joinChat(roomName, 1, true, false);
      return await socket.leaveChat(channel.id);
    }, generateid(), generateid(), adapter);

    expect(reply).not.toBeNull();
  });

  it.each(adapters)("should create a group, join group chat, then leave it", async (adapter) => {
    const page = await createPage();

    const reply = await page.evaluate(async (customid, groupName, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      const group = await client.createGroup(session, { name: groupName, open: true });
      const channel = await socket.joinChat(group.id, 3, true, false);
      return await socket.leaveChat(channel.id);
    }, generateid(), generateid(), adapter);

    expect(reply).not.toBeNull();
  });

  it.each(adapters)("should join a room, then send message, receive message", async (adapter) => {
    const page = await createPage();
    const content = { hello: "world" };

    const message = await page.evaluate(async (customid, roomName, content, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const received = new Promise((resolve) => { socket.onchannelmessage = resolve; });

      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      const channel = await socket.joinChat(roomName, 1, false, false);
      await socket.writeChatMessage(channel.id, content);
      const timedOut = new Promise((_, reject) => setTimeout(reject, 5000, "did not receive channel message - timed out."));
      return Promise.race([received, timedOut]);
    }, generateid(), generateid(), content, adapter);

    expect(message).not.toBeNull();
    expect(message.channel_id).not.toBeNull();
    expect(message.message_id).not.toBeNull();
    expect(message.sender_id).not.toBeNull();
    expect(message.content).toEqual(content);
    expect(message.code).toBe(0);
    expect(message.persistent).toBe(false);
  });

  it.each(adapters)("should join a room, then send message, update message, then list messages", async (adapter) => {
    const page = await createPage();
    const content = { hello: "world" };
    const updatedContent = { hello: "world2" };

    const history = await page.evaluate(async (customid, roomName, content, updatedContent, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      const channel = await socket.joinChat(roomName, 1, true, false);
      const sent = await socket.writeChatMessage(channel.id, content);
      const updated = await socket.updateChatMessage(sent.channel_id, sent.message_id, updatedContent);
      return await client.listChannelMessages(session, updated.channel_id, 10);
    }, generateid(), generateid(), content, updatedContent, adapter);

    expect(history).not.toBeNull();
    expect(history.messages).not.toBeNull();
    expect(history.messages?.length).toBe(1);
    expect(history.cacheable_cursor).not.toBeNull();
    expect(history.cacheable_cursor).not.toBeUndefined();
    for (const message of history.messages ?? []) {
      expect(message.content).toEqual(updatedContent);
      expect(message.code).toEqual(0);
      expect(message.persistent).toBe(true);
    }
  });

  it.each(adapters)("should join a room, then send message, remove message, then list messages", async (adapter) => {
    const page = await createPage();

    const history = await page.evaluate(async (customid, roomName, content, adapter) => {
      const client = new nakamajs.Client();
      const socket = client.createSocket(false, false, socketAdapter(adapter));
      const session = await client.authenticateCustom(customid);
      await socket.connect(session, false);
      const channel = await socket.joinChat(roomName, 1, true, false);
      const sent = await socket.writeChatMessage(channel.id, content);
      await socket.removeChatMessage(sent.channel_id, sent.message_id);
      return await client.listChannelMessages(session, sent.channel_id, 10);
    }, generateid(), generateid(), { hello: "world" }, adapter);

    expect(history).not.toBeNull();
    expect(history.messages).not.toBeNull();
    expect(history.messages.length).toBe(0);
  });
});
