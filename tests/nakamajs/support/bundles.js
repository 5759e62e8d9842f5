// The originals load nakama-js's IIFE builds (globals `nakamajs`, `nakamajsprotobuf`) into each page.
// npm ships only the CJS/ESM builds, so we make the same IIFEs from the published ESM with esbuild,
// as nakama-js's own build.mjs does from its sources; the library code itself is untouched.
const esbuild = require("esbuild");

const path = require("path");

const SUITE_ROOT = path.resolve(__dirname, "..");
const PACKAGES = [
  { entry: "@heroiclabs/nakama-js", globalName: "nakamajs" },
  { entry: "@heroiclabs/nakama-js-protobuf", globalName: "nakamajsprotobuf" },
];

let built = null;

function iifeBundles() {
  if (built === null) {
    built = PACKAGES.map(({ entry, globalName }) => {
      const result = esbuild.buildSync({
        entryPoints: [entry], absWorkingDir: SUITE_ROOT, bundle: true, platform: "browser", format: "iife", globalName, write: false, logLevel: "silent",
      });
      return result.outputFiles[0].text;
    });
  }
  return built;
}

module.exports = { iifeBundles };
