// Port of nakama-js v2.8.0 packages/nakama-js-test/client-storage.test.ts.
const { createPage } = require("../support/page");
const { generateid } = require("../support/utils");

const COLLECTION = "testcollection";
const KEY = "testkey";
const VALUE = { hello: "world" };

function expectObject(object, permissionRead) {
  expect(object).not.toBeNull();
  expect(object.collection).toBe(COLLECTION);
  expect(object.key).toBe(KEY);
  expect(object.value).toEqual(VALUE);
  expect(object.permission_read).toBe(permissionRead);
  expect(object.permission_write).toBe(1);
  expect(object.version).not.toBeNull();
}

describe("Storage Tests", () => {
  it("should write and read storage", async () => {
    const page = await createPage();

    const read = await page.evaluate(async (customid, collection, key, value) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.writeStorageObjects(session, [{ collection, key, value }]);
      return await client.readStorageObjects(session, { object_ids: [{ collection, key, user_id: session.user_id }] });
    }, generateid(), COLLECTION, KEY, VALUE);

    expect(read).not.toBeNull();
    expect(read.objects.length).toBe(1);
    expectObject(read.objects[0], 1);
  });

  it("should write and delete storage", async () => {
    const page = await createPage();

    const read = await page.evaluate(async (customid, collection, key, value) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.writeStorageObjects(session, [{ collection, key, value }]);
      await client.deleteStorageObjects(session, { object_ids: [{ collection, key }] });
      return await client.readStorageObjects(session, { object_ids: [{ collection, key, user_id: session.user_id }] });
    }, generateid(), COLLECTION, KEY, VALUE);

    expect(read).not.toBeNull();
    expect(read.objects.length).toBe(0);
  });

  it("should write and list storage", async () => {
    const page = await createPage();

    const list = await page.evaluate(async (customid, collection, key, value) => {
      const client = new nakamajs.Client();
      const session = await client.authenticateCustom(customid);
      await client.writeStorageObjects(session, [{ collection, key, value, permission_read: 2, permission_write: 1 }]);
      return await client.listStorageObjects(session, collection, session.user_id);
    }, generateid(), COLLECTION, KEY, VALUE);

    expect(list).not.toBeNull();
    expect(list.objects.length).toBe(1);
    expectObject(list.objects[0], 2);
  });
});
