// The client reaches the server: an unknown account answers with a Nakama-style error.
import { client, failure, run } from "./_client.mjs";

run(async () => {
  const c = client();
  const missing = await failure(c.authenticateCustom("nakama-py-client-probe", false));
  const healthcheck = await fetch(`http://${process.env.NAKAMA_HOST || "127.0.0.1"}:${process.env.NAKAMA_PORT}/healthcheck`);
  return { missing, healthcheck: { status: healthcheck.status, body: await healthcheck.json() } };
});
