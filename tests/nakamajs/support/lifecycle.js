// Registered around every test file (jest setupFilesAfterEnv).
const { closeBrowser } = require("./browser");
const { closePages } = require("./page");

afterEach(closePages);
afterAll(closeBrowser);
