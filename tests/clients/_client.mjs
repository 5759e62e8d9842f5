// Shared setup for the client scripts: the unmodified nakama-js 2.8.0 pointed at the
// server the test started, and a way to print one JSON result for pytest to read.
import { Client } from "@heroiclabs/nakama-js";

export const env = {
  host: process.env.NAKAMA_HOST || "127.0.0.1",
  port: process.env.NAKAMA_PORT || "7350",
  serverKey: process.env.NAKAMA_SERVER_KEY || "defaultkey",
  httpKey: process.env.NAKAMA_HTTP_KEY || "defaulthttpkey",
};

export function client() {
  return new Client(env.serverKey, env.host, env.port, false, 7000, true);
}

// nakama-js throws the fetch Response on any non-2xx; turn it into plain data.
export async function failure(promise) {
  try {
    const value = await promise;
    return { ok: true, value };
  } catch (err) {
    if (err && typeof err.status === "number") {
      let body = null;
      try { body = await err.json(); } catch (_) { body = null; }
      return { ok: false, status: err.status, body };
    }
    return { ok: false, error: String(err) };
  }
}

export function done(result) {
  process.stdout.write(JSON.stringify(result) + "\n");
}

export function run(main) {
  main().then(done).catch((err) => {
    process.stderr.write((err && err.stack) ? err.stack : String(err));
    process.stderr.write("\n");
    process.exit(1);
  });
}
