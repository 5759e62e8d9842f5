// What the originals' utils.ts gives the tests on the node side.
const crypto = require("crypto");

// Parametrizes the socket tests over both adapters, as the originals do.
const AdapterType = Object.freeze({ Text: 0, Protobuf: 1 });
const adapters = [AdapterType.Text, AdapterType.Protobuf];

const matchmakerTimeout = 20000;

// 30 random base-36 characters (the originals' generateid).
function generateid() {
  const chars = [];
  for (let i = 0; i < 30; i++) {
    chars.push(Math.random().toString(36)[3]);
  }
  return chars.join("");
}

// A Facebook Instant Games signed player info, signed with the test secret the originals use.
function createFacebookInstantGameAuthToken(playerId) {
  const payload = Buffer.from(JSON.stringify({
    algorithm: "HMAC-SHA256", issued_at: 1594867628, player_id: playerId, request_payload: "",
  })).toString("base64url");
  const signature = crypto.createHmac("sha256", "fb-instant-test-secret").update(payload).digest("base64url");
  return `${signature}.${payload}`;
}

module.exports = { AdapterType, adapters, matchmakerTimeout, generateid, createFacebookInstantGameAuthToken };
