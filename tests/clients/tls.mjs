// nakama-js with useSSL against a server terminating TLS itself (socket.ssl_certificate): the test
// trusts its self-signed certificate through NODE_EXTRA_CA_CERTS.
import { Client } from "@heroiclabs/nakama-js";
import { env, failure, run } from "./_client.mjs";

run(async () => {
  const c = new Client(env.serverKey, env.host, env.port, true, 7000, true);
  const session = await c.authenticateCustom(process.env.NAKAMA_CUSTOM_ID, true);
  const account = await c.getAccount(session);
  const wrongKey = await failure(new Client("not-the-key", env.host, env.port, true).authenticateCustom("x-tls-probe"));
  return { userId: session.user_id, accountId: account.user.id, wrongKey };
});
