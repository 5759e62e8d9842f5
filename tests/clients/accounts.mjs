// Accounts and sessions with the unmodified nakama-js 2.8.0: sign-in (custom, device, email; new and
// existing), vars and awkward usernames decoded by its Session, refresh, logout, account get/update,
// and linking/unlinking a device. Prints one JSON object of observations for pytest to check.
import { Session } from "@heroiclabs/nakama-js";
import { client, failure, run } from "./_client.mjs";

const suffix = process.env.RUN_SUFFIX || String(Date.now());

function describe(session) {
  return {
    created: session.created, user_id: session.user_id, username: session.username, vars: session.vars,
    has_token: typeof session.token === "string" && session.token.length > 0,
    has_refresh: typeof session.refresh_token === "string" && session.refresh_token.length > 0,
    expires_in: session.expires_at - Math.floor(Date.now() / 1000),
  };
}

run(async () => {
  const c = client();
  const out = {};

  // custom: new, then existing (the supplied username is ignored for an existing account)
  const customId = `js-custom-${suffix}`;
  const customNew = await c.authenticateCustom(customId, true, `jsuser_${suffix}`, { platform: "node", tier: "gold" });
  const customAgain = await c.authenticateCustom(customId, true, `ignored_${suffix}`);
  out.custom = { first: describe(customNew), again: describe(customAgain) };

  // device: new, then existing
  const deviceId = `js-device-${suffix}`;
  out.device = { first: describe(await c.authenticateDevice(deviceId, true)),
                 again: describe(await c.authenticateDevice(deviceId, false)) };

  // email: new, existing, wrong password
  const email = `JS.${suffix}@Example.com`;
  out.email = {
    first: describe(await c.authenticateEmail(email, "correct horse", true)),
    again: describe(await c.authenticateEmail(email.toLowerCase(), "correct horse", false)),
    wrong: await failure(c.authenticateEmail(email, "wrong password")),
  };
  out.missing = await failure(c.authenticateCustom(`js-missing-${suffix}`, false));

  // a username with '?', '~', '>' and non-ASCII text, and non-ASCII vars: 2.8.0 decodes the JWT with a
  // plain base64 decoder, which breaks on the '-'/'_' such bytes would produce in base64url
  const oddName = `wh?t~>José_${suffix}`;
  const odd = await c.authenticateCustom(`js-odd-${suffix}`, true, oddName, { "greeting?": "¿qué tal? ~ 🎮" });
  const restored = Session.restore(odd.token, odd.refresh_token);
  out.odd = { expected: oddName, session: describe(odd), restored: describe(restored) };

  // account get / update round trip, with a non-ASCII display name
  const update = { display_name: "Zoë 🎮 Ünïcødé", avatar_url: "https://example.com/a.png", lang_tag: "fr",
                   location: "Zürich", timezone: "Europe/Zurich" };
  out.updated = await c.updateAccount(customNew, update);
  const account = await c.getAccount(customNew);
  out.account = { user: account.user, custom_id: account.custom_id, wallet: account.wallet,
                  has_devices: "devices" in account };

  // refresh: new token, same user; vars kept when none are given, replaced when given
  const before = { token: customNew.token, user_id: customNew.user_id, expires_at: customNew.expires_at };
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await c.sessionRefresh(customNew);
  out.refresh = { before, after: describe(customNew), token_changed: customNew.token !== before.token,
                  expires_later: customNew.expires_at > before.expires_at };
  await c.sessionRefresh(customNew, { mood: "happy" });
  out.refresh_vars = customNew.vars;

  // link / unlink a device
  const linkedDevice = `js-linked-${suffix}`;
  out.link = await c.linkDevice(customNew, { id: linkedDevice });
  out.devices_after_link = (await c.getAccount(customNew)).devices;
  out.signed_in_with_linked = describe(await c.authenticateDevice(linkedDevice, false));
  out.unlink = await c.unlinkDevice(customNew, { id: linkedDevice });
  const afterUnlink = await c.getAccount(customNew);
  out.devices_present_after_unlink = "devices" in afterUnlink;
  out.unlink_last = await failure(c.unlinkCustom(customNew, { id: customId }));

  // logout, then the session and its refresh token are refused
  const loggedOut = await c.authenticateCustom(`js-logout-${suffix}`, true);
  out.logout = await c.sessionLogout(loggedOut, loggedOut.token, loggedOut.refresh_token);
  out.after_logout = await failure(c.getAccount(loggedOut));
  out.refresh_after_logout = await failure(c.sessionRefresh(loggedOut));
  out.other_session_still_works = (await c.getAccount(customNew)).user.id === customNew.user_id;

  return out;
});
