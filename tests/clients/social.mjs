// Users, friends and groups with the unmodified nakama-js 2.8.0: the scenarios of its own
// client-user, client-friend and client-group tests, each with fresh custom-ID users.
import { client, failure, run } from "./_client.mjs";

const RUN = process.env.SOCIAL_RUN;
let serial = 0;

async function user(c) {
  serial += 1;
  return c.authenticateCustom(`${RUN}-user-${serial}`);
}

function states(list) {
  return list.group_users.map((item) => item.state).sort();
}

run(async () => {
  const c = client();
  const out = {};

  // client-user
  const [u1, u2] = [await user(c), await user(c)];
  out.twoUsers = await c.getUsers(u2, [u1.user_id], [u2.username], []);
  out.noUsers = await c.getUsers(u1, [], [], []);

  // client-friend
  {
    const [a, b] = [await user(c), await user(c)];
    await c.addFriends(a, [b.user_id]);
    out.inviteSent = (await c.listFriends(a)).friends.map((f) => f.state);
    out.inviteReceived = (await c.listFriends(b)).friends.map((f) => f.state);
    await c.addFriends(b, [a.user_id]);
    out.accepted = (await c.listFriends(a)).friends.map((f) => f.state);
  }
  {
    const [a, b] = [await user(c), await user(c)];
    await c.blockFriends(a, [b.user_id]);
    out.blocked = (await c.listFriends(a)).friends.map((f) => f.state);
  }
  {
    const [a, b] = [await user(c), await user(c)];
    await c.addFriends(a, [b.user_id]);
    await c.deleteFriends(b, [a.user_id]);
    out.rejected = (await c.listFriends(a)).friends.length;
  }
  {
    const [a, b, d] = [await user(c), await user(c), await user(c)];
    for (const [x, y] of [[a, b], [b, d]]) {
      await c.addFriends(x, [y.user_id]);
      await c.addFriends(y, [x.user_id]);
    }
    out.friendsOfFriends = (await c.listFriendsOfFriends(a)).friends_of_friends.map((f) => f.user.id === d.user_id);
    out.addSelf = await failure(c.addFriends(a, [a.user_id]));
  }

  // client-group
  {
    const s = await user(c);
    const name = `${RUN}-g1`;
    out.created = await c.createGroup(s, { name, open: true });
    out.userGroups = await c.listUserGroups(s, s.user_id);
    await c.updateGroup(s, out.created.id, { name: `${RUN}-g1b` });
    out.renamed = (await c.listUserGroups(s, s.user_id)).user_groups[0].group.name;
    out.listed = await c.listGroups(s, `%${RUN}-g1b%`);
    await c.deleteGroup(s, out.created.id);
    out.afterDelete = (await c.listUserGroups(s, s.user_id)).user_groups.length;
  }
  {
    const [s1, s2, s3] = [await user(c), await user(c), await user(c)];
    const open = await c.createGroup(s1, { name: `${RUN}-open`, open: true });
    await c.joinGroup(s2, open.id);
    out.joined = states(await c.listGroupUsers(s1, open.id));
    out.joinedCount = (await c.listUserGroups(s1, s1.user_id)).user_groups[0].group.edge_count;
    await c.leaveGroup(s2, open.id);
    out.leftCount = (await c.listUserGroups(s1, s1.user_id)).user_groups[0].group.edge_count;
    await c.addGroupUsers(s1, open.id, [s2.user_id, s3.user_id]);
    await c.promoteGroupUsers(s1, open.id, [s2.user_id]);
    await c.promoteGroupUsers(s1, open.id, [s2.user_id]);
    out.promotedTwice = states(await c.listGroupUsers(s1, open.id));
    await c.kickGroupUsers(s1, open.id, [s3.user_id]);
    out.kicked = states(await c.listGroupUsers(s1, open.id));
    await c.addGroupUsers(s1, open.id, [s3.user_id]);
    await c.banGroupUsers(s1, open.id, [s3.user_id]);
    out.bannedMembers = (await c.listGroupUsers(s1, open.id, 2)).group_users?.length ?? 0;
    await c.demoteGroupUsers(s1, open.id, [s1.user_id]);
    out.selfDemote = (await c.listGroupUsers(s1, open.id, 0)).group_users.length;
  }
  {
    const [s1, s2] = [await user(c), await user(c)];
    const closed = await c.createGroup(s1, { name: `${RUN}-closed`, open: false });
    await c.joinGroup(s2, closed.id);
    out.requested = states(await c.listGroupUsers(s1, closed.id));
    out.requestedCount = (await c.listUserGroups(s1, s1.user_id)).user_groups[0].group.edge_count;
    await c.promoteGroupUsers(s1, closed.id, [s2.user_id]);
    out.promotedRequest = states(await c.listGroupUsers(s1, closed.id));
    out.promotedCount = (await c.listUserGroups(s1, s1.user_id)).user_groups[0].group.edge_count;
    out.lastSuperadminLeaves = await failure(c.leaveGroup(s1, closed.id));
  }
  // tournaments (created by the test with nk.tournament_create: join required, 2 attempts)
  {
    const id = process.env.TOURNAMENT_ID;
    const [t1, t2] = [await user(c), await user(c)];
    out.tournaments = (await c.listTournaments(t1, 77, 77)).tournaments.map((t) => t.id);
    out.writeBeforeJoin = await failure(c.writeTournamentRecord(t1, id, { score: 10 }));
    await c.joinTournament(t1, id);
    await c.joinTournament(t2, id);
    out.firstWrite = await c.writeTournamentRecord(t1, id, { score: 10, metadata: { lap: 1 } });
    await c.writeTournamentRecord(t1, id, { score: 12 });
    out.thirdWrite = await failure(c.writeTournamentRecord(t1, id, { score: 14 }));
    await c.writeTournamentRecord(t2, id, { score: 11 });
    out.records = (await c.listTournamentRecords(t1, id)).records.map((r) => [r.owner_id === t1.user_id, r.score, r.rank]);
    out.around = (await c.listTournamentRecordsAroundOwner(t2, id, t2.user_id, 1)).records.map((r) => r.rank);
  }
  return out;
});
