// Storage with the unmodified nakama-js 2.8.0: write, read, list and delete with permissions and
// versions, as two users whose sessions the test minted (resumed with Session.restore).
import { Session } from "@heroiclabs/nakama-js";
import { client, failure, run } from "./_client.mjs";

const COLLECTION = process.env.STORAGE_COLLECTION;

function keysOf(result) {
  return result.objects.map((o) => `${o.key}:${o.user_id === process.env.ALICE_ID ? "alice" : "bob"}`);
}

run(async () => {
  const c = client();
  const alice = Session.restore(process.env.ALICE_TOKEN, process.env.ALICE_REFRESH);
  const bob = Session.restore(process.env.BOB_TOKEN, process.env.BOB_REFRESH);
  const out = {};

  out.written = await c.writeStorageObjects(alice, [
    { collection: COLLECTION, key: "slot", value: { hp: 10, items: ["sword"] } },
    { collection: COLLECTION, key: "profile", value: { level: 3 }, permission_read: 2, permission_write: 1 },
    { collection: COLLECTION, key: "secret", value: { pin: 1234 }, permission_read: 0, permission_write: 0 },
  ]);
  await c.writeStorageObjects(bob, [
    { collection: COLLECTION, key: "profile", value: { level: 7 }, permission_read: 2 },
  ]);
  const ids = ["slot", "profile", "secret"].map((key) => ({ collection: COLLECTION, key, user_id: alice.user_id }));
  out.aliceReads = await c.readStorageObjects(alice, { object_ids: ids });
  out.bobReadsAlice = await c.readStorageObjects(bob, { object_ids: ids });

  const slotVersion = out.written.acks[0].version;
  out.update = await c.writeStorageObjects(alice, [
    { collection: COLLECTION, key: "slot", value: { hp: 9, items: ["sword"] }, version: slotVersion },
  ]);
  out.staleUpdate = await failure(c.writeStorageObjects(alice, [
    { collection: COLLECTION, key: "slot", value: { hp: 1 }, version: slotVersion },
  ]));
  out.createExisting = await failure(c.writeStorageObjects(alice, [
    { collection: COLLECTION, key: "slot", value: { hp: 1 }, version: "*" },
  ]));
  out.lockedUpdate = await failure(c.writeStorageObjects(alice, [
    { collection: COLLECTION, key: "secret", value: { pin: 0 } },
  ]));
  out.notAnObject = await failure(c.writeStorageObjects(alice, [{ collection: COLLECTION, key: "x", value: [1] }]));

  const page1 = await c.listStorageObjects(alice, COLLECTION, alice.user_id, 1);
  const page2 = await c.listStorageObjects(alice, COLLECTION, alice.user_id, 1, page1.cursor);
  out.ownPages = { first: keysOf(page1), second: keysOf(page2), cursors: [!!page1.cursor, !!page2.cursor] };
  out.publicList = keysOf(await c.listStorageObjects(bob, COLLECTION, undefined, 10));
  out.bobListsAlice = keysOf(await c.listStorageObjects(bob, COLLECTION, alice.user_id, 10));
  out.badCursor = await failure(c.listStorageObjects(alice, COLLECTION, alice.user_id, 1, "forged"));

  const newSlotVersion = out.update.acks[0].version;
  out.staleDelete = await failure(c.deleteStorageObjects(alice, {
    object_ids: [{ collection: COLLECTION, key: "slot", version: slotVersion }],
  }));
  out.lockedDelete = await failure(c.deleteStorageObjects(alice, { object_ids: [{ collection: COLLECTION, key: "secret" }] }));
  out.deleted = await c.deleteStorageObjects(alice, {
    object_ids: [{ collection: COLLECTION, key: "slot", version: newSlotVersion }, { collection: COLLECTION, key: "profile" }],
  });
  out.deleteAgain = await failure(c.deleteStorageObjects(alice, { object_ids: [{ collection: COLLECTION, key: "slot" }] }));
  out.afterDelete = await c.readStorageObjects(alice, { object_ids: ids });
  return out;
});
