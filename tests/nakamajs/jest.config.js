// Each file of suite/ is our port of the nakama-js v2.8.0 test file of the same name
// (packages/nakama-js-test/*.test.ts): same test names, same client calls, same assertions.
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/suite"],
  testMatch: ["**/*.test.js"],
  setupFilesAfterEnv: ["<rootDir>/support/lifecycle.js"],
  // The originals run with jest's 5 s default; a page on a loaded CI machine needs more room.
  testTimeout: 15000,
  // Test functions are handed to page.evaluate as source text: keep them exactly as written.
  transform: {},
  maxWorkers: 1,
};
