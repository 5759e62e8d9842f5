// One headless Debian chromium per jest test file (never a downloaded browser).
const puppeteer = require("puppeteer-core");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// nakama-js's tests build every client with its defaults (127.0.0.1:7350); the server under test
// may listen elsewhere, so chromium's resolver forwards that address to it (HTTP and WebSocket alike).
const NAKAMA_DEFAULT_ADDRESS = "127.0.0.1:7350";
const serverAddress = `127.0.0.1:${process.env.NAKAMA_PORT || "7350"}`;

function chromiumArgs() {
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    // The pages are about:blank (a public, opaque origin) calling 127.0.0.1: Chromium's Local
    // Network Access checks would block that; the Chrome the originals ran in had none.
    "--disable-features=LocalNetworkAccessChecks",
  ];
  if (serverAddress !== NAKAMA_DEFAULT_ADDRESS) {
    args.push(`--host-resolver-rules=MAP ${NAKAMA_DEFAULT_ADDRESS} ${serverAddress}`);
  }
  return args;
}

let launching = null;

function browser() {
  if (launching === null) {
    launching = puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: chromiumArgs(),
      timeout: 30000,
      protocolTimeout: 60000,
    });
  }
  return launching;
}

async function closeBrowser() {
  if (launching === null) {
    return;
  }
  const running = await launching;
  launching = null;
  await running.close();
}

module.exports = { browser, closeBrowser };
