// Pages as the originals' createPage() makes them: about:blank with the nakama-js IIFEs loaded, plus
// our shared in-page helpers. Every page is closed after its test, so a run holds a bounded number.
const { browser } = require("./browser");
const { iifeBundles } = require("./bundles");
const { inPageHelpers } = require("./in_page");

const openPages = new Set();

function logPageError(error) {
  console.error("ERR:", error instanceof Object ? JSON.stringify(error) : error);
}

async function createPage() {
  const page = await (await browser()).newPage();
  openPages.add(page);
  page.on("error", logPageError);
  page.on("pageerror", logPageError);
  for (const bundle of iifeBundles()) {
    await page.evaluateOnNewDocument(bundle);
  }
  await page.evaluateOnNewDocument(inPageHelpers);
  await page.goto("about:blank");
  return page;
}

async function closePages() {
  const pages = [...openPages];
  openPages.clear();
  await Promise.all(pages.map((page) => page.close().catch(() => undefined)));
}

module.exports = { createPage, closePages };
