// A live race with the unmodified nakama-js 2.8.0 (Node's WebSocket): four players matchmake into
// the racing module's authoritative race, drive to the finish, and read their server-measured
// times back from the leaderboard. The fourth player first claims an impossible jump.
import { client, env, run } from "./_client.mjs";

const PROGRESS = 1, START = 10, REJECTED = 12, RESULTS = 14;
const tag = process.env.RUN_TAG || "race";
const track = Number(process.env.TRACK_METERS || "100");
const decoder = new TextDecoder();

function waitFor(predicate, what, ms = 30000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    predicate((value) => { clearTimeout(timer); resolve(value); });
  });
}

async function player(i) {
  const c = client();
  const session = await c.authenticateCustom(`racer-${tag}-${i}`, true, `racer_${tag}_${i}`);
  const socket = c.createSocket(false, false);
  await socket.connect(session, false);
  const events = { rejected: [], start: null, results: null };
  const started = waitFor((done) => {
    socket.onmatchdata = (data) => {
      const body = JSON.parse(decoder.decode(data.data));
      if (data.op_code === START) { events.start = body; done(body); }
      if (data.op_code === REJECTED) events.rejected.push(body);
      if (data.op_code === RESULTS) { events.results = body; if (events.onResults) events.onResults(body); }
    };
  }, "the start");
  return { i, c, session, socket, events, started };
}

async function drive(racer, speed, match_id) {
  // Report progress every 100 ms at `speed` m/s until the finish.
  let distance = 0;
  while (distance < track) {
    await new Promise((r) => setTimeout(r, 100));
    distance = Math.min(track, distance + speed * 0.1);
    await racer.socket.sendMatchState(match_id, PROGRESS, JSON.stringify({ distance }));
  }
}

run(async () => {
  const racers = await Promise.all([0, 1, 2, 3].map(player));
  const matched = await Promise.all(racers.map(async (racer) => {
    const got = waitFor((done) => { racer.socket.onmatchmakermatched = done; }, "matchmaker_matched");
    await racer.socket.addMatchmaker("+properties.mode:race", 4, 4, { mode: "race", tag });
    return got;
  }));
  const matchIds = new Set(matched.map((m) => m.match_id));
  const [match_id] = [...matchIds];
  await Promise.all(racers.map((racer) => racer.socket.joinMatch(match_id)));
  await Promise.all(racers.map((racer) => racer.started));

  const results = Promise.all(racers.map((racer) => waitFor((done) => {
    if (racer.events.results) done(racer.events.results); else racer.events.onResults = done;
  }, "the results")));
  const cheater = racers[3];
  // An impossible jump to the finish line right after the start: refused.
  await cheater.socket.sendMatchState(match_id, PROGRESS, JSON.stringify({ distance: track }));
  await Promise.all([drive(racers[0], 45, match_id), drive(racers[1], 40, match_id),
                     drive(racers[2], 35, match_id), drive(cheater, 25, match_id)]);
  const [final] = await results;

  const board = await racers[0].c.listLeaderboardRecords(racers[0].session, "race_times",
                                                          racers.map((r) => r.session.user_id), 10);
  for (const racer of racers) racer.socket.disconnect(false);
  return {
    matched_ids: [...matchIds],
    user_ids: racers.map((r) => r.session.user_id),
    start: racers[0].events.start,
    rejected: racers.map((r) => r.events.rejected.length),
    results: final,
    owner_records: (board.owner_records || []).map((r) => ({ owner_id: r.owner_id, score: Number(r.score),
                                                             metadata: r.metadata })),
  };
});
