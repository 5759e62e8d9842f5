// The racing game through the unmodified nakama-js 2.8.0: sign in, submit, read, replay.
import { client, env, failure, run } from "./_client.mjs";

run(async () => {
  const c = client();
  const session = await c.authenticateCustom("racing-js-" + process.env.RUN_TAG, true, "racer" + process.env.RUN_TAG);
  const payload = { race_time: 41.237, idempotency_key: "js-" + process.env.RUN_TAG };
  const submitted = await c.rpc(session, "submit_race_time", payload);
  const replayed = await c.rpc(session, "submit_race_time", { ...payload, race_time: 99 });
  const board = await c.rpc(session, "get_leaderboard", { limit: 10 });
  const backend = await c.rpcHttpKey(env.httpKey, "get_leaderboard", { limit: 1 });
  const invalid = await failure(c.rpc(session, "submit_race_time", { race_time: "fast", idempotency_key: "x" }));
  const forbidden = await failure(c.rpc(session, "manual_reset_leaderboard", {}));
  return { user_id: session.user_id, submitted: submitted.payload, replayed: replayed.payload,
           board: board.payload, backend: backend.payload, invalid, forbidden };
});
