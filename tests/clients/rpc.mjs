// RPCs with the unmodified nakama-js 2.8.0 against the example module (runtime_modules/example.py):
// a session call, an http-key call (GET with ?payload=), a raw unwrap call, and errors.
import { Session } from "@heroiclabs/nakama-js";
import { client, env, failure } from "./_client.mjs";

const base = `http://${env.host}:${env.port}`;

// Printed with U+2028 escaped: the payloads hold one, which the harness would take for a line break.
main().then((result) => {
  process.stdout.write(JSON.stringify(result).replace(/\u2028/g, "\\u2028") + "\n");
}).catch((err) => {
  process.stderr.write(`${(err && err.stack) || err}\n`);
  process.exit(1);
});

async function main() {
  const c = client();
  const session = Session.restore(process.env.NAKAMA_TOKEN, process.env.NAKAMA_REFRESH_TOKEN);
  const input = JSON.parse(process.env.RPC_INPUT);

  const echoed = await c.rpc(session, "echo", input);
  const byKey = await c.rpcHttpKey(env.httpKey, "Echo", input);
  const stored = await c.rpc(session, "storage_roundtrip", { track: "monza", best_ms: 81234 });

  // The same session call as bytes on the wire: nakama-js's double-encoded body, our reply verbatim.
  const wire = await fetch(`${base}/v2/rpc/echo`, {
    method: "POST",
    headers: { Authorization: `Bearer ${session.token}`, "Content-Type": "application/json" },
    body: JSON.stringify(JSON.stringify(input)),
  });

  const rawBody = process.env.RAW_BODY;
  const unwrapped = await fetch(`${base}/v2/rpc/echo?unwrap`, {
    method: "POST",
    headers: { Authorization: `Bearer ${session.token}`, "Content-Type": "text/x-lap-times" },
    body: rawBody,
  });

  return {
    user_id: session.user_id,
    sent: JSON.stringify(input),
    echoed: echoed.payload,
    by_key: byKey.payload,
    stored: stored.payload,
    wire: {
      status: wire.status, type: wire.headers.get("content-type"),
      body_base64: Buffer.from(await wire.arrayBuffer()).toString("base64"),
    },
    unwrapped: {
      status: unwrapped.status, type: unwrapped.headers.get("content-type"), body: await unwrapped.text(),
    },
    error: await failure(c.rpc(session, "error", { code: 7, message: "Not your race." })),
    missing: await failure(c.rpc(session, "no_such_rpc", {})),
    bad_key: await failure(c.rpcHttpKey("wrong-key", "echo", {})),
  };
}
