// Runs in every page before any test code (serialized by puppeteer, so it may only use page globals).
function inPageHelpers() {
  // The socket adapter a parametrized test asks for: AdapterType.Text (0) or AdapterType.Protobuf (1).
  globalThis.socketAdapter = function (adapter) {
    return adapter == 1 ? new nakamajsprotobuf.WebSocketAdapterPb() : new nakamajs.WebSocketAdapterText();
  };
  // One client per custom id, each signed in (created if new), in order: [{client, session}, ...].
  globalThis.signInCustom = async function (...customids) {
    const users = [];
    for (const customid of customids) {
      const client = new nakamajs.Client();
      users.push({ client, session: await client.authenticateCustom(customid) });
    }
    return users;
  };
  globalThis.timeoutPromise = function (ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  };
}

module.exports = { inPageHelpers };
