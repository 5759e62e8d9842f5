// Through a load balancer in front of several nodes, with the unmodified nakama-js 2.8.0: a player
// improves their time again and again, and after each submission reads their own standing.
import { client, run } from "./_client.mjs";

run(async () => {
  const c = client();
  const tag = process.env.RUN_TAG;
  const session = await c.authenticateCustom("cluster-js-" + tag, true, "clusterjs" + tag);
  const steps = [];
  for (let i = 0; i < Number(process.env.ROUNDS || 12); i++) {
    const submitted = await c.rpc(session, "submit_race_time", { race_time: 90 - i, idempotency_key: tag + "-" + i });
    const board = await c.rpc(session, "get_leaderboard", { limit: 5 });
    steps.push({ submitted: submitted.payload, board: board.payload });
  }
  const account = await c.getAccount(session);
  return { user_id: session.user_id, account_id: account.user.id, steps };
});
