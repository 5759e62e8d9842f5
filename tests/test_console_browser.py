"""The web console in a real browser (Playwright driving Debian's chromium) against a real server with two
worker processes and the racing module: sign in, every page without console errors, the cluster's processes and
sessions on Status, an account's friends and groups, search an account,
a storage version conflict, a ban the API then enforces, an RPC from the explorer, a cycle's payouts.

With NAKAMA_PY_CONSOLE_SCREENSHOTS=1 the pages are also saved to docs/console/ (the README shows them).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.database import create_database, drop_database, migrate
from tests.support.ports import free_port
from tests.support.racing import racing_flags
from tests.support.server import REPO, ServerProcess, start_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")  # the variable the nakama-js suite reads
SCREENSHOTS = REPO / "docs" / "console"
CYCLE_SECONDS = 10


@dataclass
class Stack:
    server: ServerProcess
    console_url: str
    errors: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, body: Any = None, *, token: str = "",
            basic: str = "") -> tuple[int, Any]:
        """A client's call to the API (what a player's game does)."""
        request = urllib.request.Request(self.server.url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if basic:
            request.add_header("Authorization", "Basic " + base64.b64encode(f"{basic}:".encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def player(self, name: str) -> tuple[str, str, str]:
        """A new player signed in with a custom id: (custom id, user id, session token)."""
        custom = f"{name}-{secrets.token_hex(4)}"
        status, session = self.api("POST", f"/v2/account/authenticate/custom?create=true&username={custom}",
                                   {"id": custom}, basic="defaultkey")
        assert status == 200, session
        status, account = self.api("GET", "/v2/account", token=session["token"])
        return custom, account["user"]["id"], session["token"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url = create_database("nakama_py_console")
    migrate(url)
    tmp = tmp_path_factory.mktemp("console")
    console_port = free_port()
    server = start_server(tmp, url, "--socket.workers", "2", "--console.port", str(console_port),
                          "--session.token_expiry_sec", "3600",
                          *racing_flags(tmp, cycle_seconds=CYCLE_SECONDS, rewards="1000,500"))
    try:
        yield Stack(server, f"http://127.0.0.1:{console_port}")
    finally:
        server.stop()
        drop_database(url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # A missing browser fails these tests (CI installs it); it never skips them.
    assert shutil.which(CHROMIUM), f"no Chromium at {CHROMIUM}: `apt-get install -y chromium`, or set CHROMIUM_PATH"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(stack: Stack, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    stack.errors.clear()
    opened.on("console", lambda message: stack.errors.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: stack.errors.append(str(error)))
    opened.on("dialog", lambda dialog: dialog.accept())  # the console's confirmations
    opened.goto(stack.console_url + "/signin")
    opened.fill("input[name=username]", "admin")
    opened.fill("input[name=password]", "password")
    opened.click("button[type=submit]")
    opened.wait_for_url("**/status")
    try:
        yield opened
    finally:
        context.close()


def screenshot(page: Page, name: str) -> None:
    if os.environ.get("NAKAMA_PY_CONSOLE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


PAGES = [("/status", "Status"), ("/config", "Configuration"), ("/runtime", "Runtime"),
         ("/explorer", "API explorer"), ("/accounts", "Accounts"), ("/storage", "Storage"),
         ("/leaderboards", "Leaderboards"), ("/racing", "Racing"), ("/users", "Console users")]


def test_every_page_renders_without_console_errors(page: Page, stack: Stack) -> None:
    stack.player("visitor")  # something to list
    for path, heading in PAGES:
        page.goto(stack.console_url + path)
        assert page.locator("h1").first.inner_text() == heading, path
        assert page.locator("header nav a.active").count() == 1
        if path != "/status":
            screenshot(page, path.strip("/"))
    page.goto(stack.console_url + "/status")
    for _ in range(12):  # a little traffic for the chart, which refreshes every 2 s
        stack.api("GET", "/healthcheck")
        page.wait_for_timeout(400)
    assert page.locator("#routes tbody tr").count() >= 1
    screenshot(page, "status")
    assert stack.errors == []


def test_status_names_the_console_process(page: Page, stack: Stack) -> None:
    page.goto(stack.console_url + "/status")
    assert "worker 0 of 2" in page.inner_text("main")


def test_search_an_account(page: Page, stack: Stack) -> None:
    custom, user_id, _ = stack.player("searcher")
    page.goto(stack.console_url + "/accounts")
    page.fill("input[name=q]", custom)
    page.click("form.inline button")
    page.click(f"#accounts a[href='/accounts/{user_id}']")
    assert page.locator("h1").inner_text().startswith(custom)
    assert custom in page.inner_text("main")  # the custom id, under sign-in identifiers
    screenshot(page, "account")
    assert stack.errors == []


def test_edit_a_storage_object_and_see_a_version_conflict(page: Page, stack: Stack) -> None:
    _, user_id, token = stack.player("saver")
    write = {"objects": [{"collection": "saves", "key": "slot1", "value": json.dumps({"level": 1})}]}
    assert stack.api("PUT", "/v2/storage", write, token=token)[0] == 200
    page.goto(f"{stack.console_url}/storage?collection=saves&user_id={user_id}")
    page.click("#objects a")
    page.fill("textarea[name=value]", json.dumps({"level": 99}))
    # The player saves again while the operator is editing: the page's version is now stale.
    write["objects"][0]["value"] = json.dumps({"level": 2})
    assert stack.api("PUT", "/v2/storage", write, token=token)[0] == 200
    page.click("#edit-object button[type=submit]")
    assert "version check failed" in page.locator(".flash.err").inner_text()
    screenshot(page, "storage-conflict")
    page.reload()
    assert json.loads(page.input_value("textarea[name=value]")) == {"level": 2}
    page.fill("textarea[name=value]", json.dumps({"level": 99}))
    page.click("#edit-object button[type=submit]")
    assert page.locator(".flash.ok").inner_text().startswith("Saved")
    status, read = stack.api("POST", "/v2/storage", {"object_ids": [
        {"collection": "saves", "key": "slot1", "user_id": user_id}]}, token=token)
    assert status == 200 and json.loads(read["objects"][0]["value"]) == {"level": 99}
    assert stack.errors == []


def test_ban_a_user_and_their_next_api_call_is_refused(page: Page, stack: Stack) -> None:
    custom, user_id, token = stack.player("cheater")
    assert stack.api("GET", "/v2/account", token=token)[0] == 200
    page.goto(f"{stack.console_url}/accounts/{user_id}")
    page.click("button:has-text('Ban')")
    assert "banned" in page.locator("h1").inner_text()
    # Either worker may serve the next call: both refuse the token.
    for _ in range(4):
        assert stack.api("GET", "/v2/account", token=token)[0] == 401
    status, body = stack.api("POST", "/v2/account/authenticate/custom", {"id": custom}, basic="defaultkey")
    assert status == 403 and body["message"] == "User account banned."
    assert stack.errors == []


def test_call_an_rpc_in_the_explorer(page: Page, stack: Stack) -> None:
    _, user_id, _ = stack.player("explorer")
    page.goto(stack.console_url + "/explorer")
    page.fill("input[name=rpc]", "submit_race_time")
    page.fill("input[name=as_user]", user_id)
    page.fill("textarea[name=payload]", json.dumps({"race_time": 51.25, "idempotency_key": "console-1"}))
    page.click("form.stack button[type=submit]")
    assert page.inner_text("#raw-request").startswith("POST /v2/rpc/submit_race_time?unwrap")
    reply = page.inner_text("#raw-reply")
    assert reply.startswith("HTTP 200") and '"race_time_ms":51250' in reply.replace(" ", "")
    page.fill("input[name=rpc]", "get_leaderboard")
    page.fill("input[name=as_user]", "")
    page.fill("textarea[name=payload]", "{}")
    page.click("form.stack button[type=submit]")
    assert "http_key" in page.inner_text("#raw-request")
    assert page.inner_text("#raw-reply").startswith("HTTP 200")
    screenshot(page, "explorer")
    page.fill("input[name=as_user]", user_id)  # the module refuses a player here: its error, raw
    page.fill("input[name=rpc]", "manual_reset_leaderboard")
    page.click("form.stack button[type=submit]")
    assert page.inner_text("#raw-reply").startswith("HTTP 403")
    assert '"code":7' in page.inner_text("#raw-reply")
    page.fill("input[name=route]", "GET /v2/account")  # a REST route, as the player
    page.click("form.stack button[type=submit]")
    assert page.inner_text("#raw-request").startswith("GET /v2/account\nAuthorization: Bearer <a session of")
    assert page.inner_text("#raw-reply").startswith("HTTP 200") and user_id in page.inner_text("#raw-reply")
    assert stack.errors == []


def test_read_a_cycles_payouts(page: Page, stack: Stack) -> None:
    racers = [stack.player(f"racer{i}") for i in range(3)]
    for index, (_, _, token) in enumerate(racers):
        payload = json.dumps({"race_time": 40 + index, "idempotency_key": f"lap-{index}"})
        status, body = stack.api("POST", "/v2/rpc/submit_race_time", payload, token=token)
        assert status == 200, body
    cycle = json.loads(body["payload"])["cycle"]
    time.sleep(max(0.0, (cycle + 1) * CYCLE_SECONDS + 2.5 - time.time()))  # the end, the settle time, the payouts
    page.goto(stack.console_url + "/racing")
    assert page.locator("svg.bars rect").count() >= 1  # records per finalized cycle
    assert "accepted" in page.inner_text("#submission-counts")
    assert "rejected: rate_limit" in page.inner_text("#submission-counts")
    screenshot(page, "racing")
    page.click(f"#history a[href='/racing/cycles/{cycle}']")
    rows = page.locator("#payouts tbody tr")
    assert rows.count() == 2  # the rewarded places (rewards=1000,500): the third racer earns nothing
    first, second = (rows.nth(i).locator("td").all_inner_texts() for i in range(2))
    assert first[:4] == ["1", racers[0][0], "40000", "1000"] and first[4].endswith("Z")
    assert second[:4] == ["2", racers[1][0], "41000", "500"] and "not paid" not in second[4]
    assert "2 players paid, 1500 coins" in page.inner_text("#paid-summary")
    screenshot(page, "racing-payouts")
    assert stack.errors == []


def open_sockets(page: Page, stack: Stack, tokens: list[str]) -> None:
    """Players' sockets held open by a browser tab on the API's origin (as a web game would hold them)."""
    page.goto(stack.server.url + "/healthcheck")
    opened = page.evaluate("""async (tokens) => {
        window.sockets = [];
        for (const token of tokens) {
            const socket = new WebSocket(`ws://${location.host}/ws?token=${token}&status=true`);
            await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
            window.sockets.push(socket);
        }
        return window.sockets.length;
    }""", tokens)
    assert opened == len(tokens)


def field_value(page: Page, name: str) -> int:
    return int(page.inner_text(f"[data-field='{name}']"))


def test_status_shows_both_workers_and_the_clusters_sessions(page: Page, stack: Stack, browser: Browser) -> None:
    page.goto(stack.console_url + "/status")
    for _ in range(50):  # the second worker joins the membership with its first heartbeat
        if page.locator("#processes tbody tr").count() == 2:
            break
        page.wait_for_timeout(200)
        page.reload()
    assert page.locator("#processes tbody tr").count() == 2  # socket.workers=2: two processes of one node
    assert page.locator("#processes tbody tr:has-text('serves this console')").count() == 1
    assert field_value(page, "cluster.node_count") == 1
    sessions_before = field_value(page, "sessions")
    game = page.context.new_page()
    open_sockets(game, stack, [stack.player(f"online{i}")[2] for i in range(4)])
    # The sockets land on either worker; the page counts sessions cluster-wide (the tracker), sockets of its own.
    for _ in range(50):
        page.wait_for_timeout(200)  # the page refreshes itself from /status.json every 2 s
        if field_value(page, "sessions") == sessions_before + 4:
            break
    assert field_value(page, "sessions") == sessions_before + 4
    assert 0 <= field_value(page, "sockets") <= 4 and field_value(page, "presences") >= sessions_before + 4
    game.close()
    for _ in range(50):
        page.wait_for_timeout(200)
        if field_value(page, "sessions") == sessions_before:
            break
    assert field_value(page, "sessions") == sessions_before
    assert stack.errors == []


def test_an_accounts_friends_and_groups(page: Page, stack: Stack) -> None:
    _, user_id, token = stack.player("social")
    friend, friend_id, friend_token = stack.player("pal")
    assert stack.api("POST", f"/v2/friend?ids={friend_id}", {}, token=token)[0] == 200
    assert stack.api("POST", f"/v2/friend?ids={user_id}", {}, token=friend_token)[0] == 200
    status, group = stack.api("POST", "/v2/group", {"name": f"club-{friend}", "open": True}, token=friend_token)
    assert status == 200, group
    assert stack.api("POST", f"/v2/group/{group['id']}/join", {}, token=token)[0] == 200
    page.goto(f"{stack.console_url}/accounts/{user_id}")
    assert page.locator("#friends tbody tr").all_inner_texts()[0].split("\t")[:2] == [friend, "friend"]
    row = page.locator("#groups tbody tr").all_inner_texts()[0].split("\t")
    assert row[0] == f"club-{friend} {group['id']}" and row[1] == "member"
    page.click(f"#friends a[href='/accounts/{friend_id}']")
    assert page.locator("#groups tbody tr td").nth(1).inner_text() == "superadmin"
    assert stack.errors == []
