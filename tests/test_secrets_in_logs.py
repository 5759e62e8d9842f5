"""No token, password or key ever reaches the log: a server at debug level is driven through sign-ins
(good and bad), refresh, RPCs by http key and by token, the socket, the console and logout, then its
whole log is searched for every secret it saw."""

from __future__ import annotations

import re
import secrets
import uuid
from pathlib import Path

import aiohttp

from tests.support.auth import basic, bearer
from tests.support.ports import free_port
from tests.support.server import start_server

MODULE = '''
from nakama_py.runtime import Context, Initializer, NakamaModule, RuntimeLogger


async def echo(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    logger.debug("echo called by %s", ctx.user_id or "the server")
    return payload


async def careless(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    # A module that logs what it was sent: tokens and keys in it are masked all the same.
    logger.info("careless got %s", payload)
    raise RuntimeError("careless failed on " + payload)


def init_module(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, initializer: Initializer) -> None:
    initializer.register_rpc("echo", echo)
    initializer.register_rpc("careless", careless)
'''


def secret(name: str) -> str:
    return f"{name}-{secrets.token_hex(12)}"


async def test_a_debug_log_of_a_full_run_holds_no_secret(tmp_path: Path, database_url: str) -> None:
    keys = {"socket.server_key": secret("serverkey"), "runtime.http_key": secret("httpkey"),
            "session.encryption_key": secret("sessionkey"), "session.refresh_encryption_key": secret("refreshkey"),
            "console.password": secret("consolepw"), "console.signing_key": secret("consolesigning")}
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "echo.py").write_text(MODULE)
    console_port = free_port()
    server = start_server(tmp_path, database_url, "--logger.level", "debug", "--runtime.path", str(modules),
                          "--console.port", str(console_port),
                          *[item for key, value in keys.items() for item in (f"--{key}", value)])
    seen: list[str] = list(keys.values())
    password, new_password, wrong = secret("userpw"), secret("linkedpw"), secret("wrongpw")
    seen += [password, new_password, wrong, secret("wronghttpkey")]
    server_key, http_key = keys["socket.server_key"], keys["runtime.http_key"]
    try:
        async with aiohttp.ClientSession(server.url) as http:
            email = f"{uuid.uuid4().hex[:12]}@example.com"
            async with http.post("/v2/account/authenticate/email?create=true", headers=basic(server_key),
                                 json={"email": email, "password": password}) as response:
                assert response.status == 200
                first = await response.json()
            async with http.post("/v2/account/authenticate/email?create=false", headers=basic(server_key),
                                 json={"email": email, "password": wrong}) as response:
                assert response.status == 401
            async with http.post("/v2/account/authenticate/email?create=false", headers=basic(seen[-1]),
                                 json={"email": email, "password": password}) as response:
                assert response.status == 401
            async with http.get("/v2/account", headers=bearer(first["token"])) as response:
                assert response.status == 200
            async with http.post("/v2/account/session/refresh", headers=basic(server_key),
                                 json={"token": first["refresh_token"]}) as response:
                assert response.status == 200
                second = await response.json()
            async with http.post("/v2/account/link/email", headers=bearer(second["token"]),
                                 json={"email": f"{uuid.uuid4().hex[:12]}@example.com",
                                       "password": new_password}) as response:
                assert response.status in (200, 409), await response.text()
            for params, headers in (({"http_key": http_key}, {}), ({}, basic(http_key)),
                                    ({}, bearer(second["token"])), ({"http_key": seen[-1]}, {})):
                async with http.post("/v2/rpc/echo", params=params, headers=headers, json='"hello"') as response:
                    assert response.status in (200, 401)
            leaked = {"token": second["token"], "refresh": second["refresh_token"], "http_key": http_key,
                      "server_key": server_key, "console": keys["console.password"]}
            async with http.post("/v2/rpc/careless", params={"http_key": http_key, "unwrap": ""},
                                 data=str(leaked).encode()) as response:
                assert response.status >= 400
            async with http.ws_connect(f"/ws?token={second['token']}") as socket:
                await socket.send_json({"cid": "1", "rpc": {"id": "echo", "payload": "{}"}})
                assert (await socket.receive_json(timeout=10))["cid"] == "1"
            async with http.ws_connect("/ws", headers=bearer(second["token"])) as socket:
                await socket.send_json({"cid": "2", "ping": {}})
                await socket.receive_json(timeout=10)
            async with http.get(f"/ws?token={first['refresh_token']}") as response:
                assert response.status == 401
            async with http.post("/v2/session/logout", headers=bearer(second["token"]),
                                 json={"token": second["token"], "refresh_token": second["refresh_token"]}) as response:
                assert response.status == 200
            async with http.get("/v2/account", headers=bearer(second["token"])) as response:
                assert response.status == 401
            seen += [first["token"], first["refresh_token"], second["token"], second["refresh_token"]]

        async with aiohttp.ClientSession(f"http://127.0.0.1:{console_port}") as console:
            async with console.post("/signin", data={"username": "admin", "password": wrong},
                                    allow_redirects=False) as response:
                assert response.status == 401
            async with console.post("/signin", data={"username": "admin", "password": keys["console.password"]},
                                    allow_redirects=False) as response:
                assert response.status == 303
                cookie = response.cookies
            seen += [morsel.value for morsel in cookie.values()]
            for page in ("/status", "/config", "/accounts"):
                async with console.get(page, allow_redirects=False) as response:
                    assert response.status < 500
    finally:
        assert server.stop() == 0
    log = server.log()
    assert "careless got" in log and "<redacted token>" in log and "<redacted>" in log
    assert "server ready" in log and '"level": "debug"' in log.replace('"level":"debug"', '"level": "debug"')
    for value in seen:
        assert value not in log, f"a secret reached the log: {value[:12]}..."
        # A token's signature alone is as good as the token for a forger's offline checks.
        for part in value.split(".")[1:]:
            assert len(part) < 16 or part not in log
    # And nothing that looks like a bearer token or a Basic credential at all.
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", log)
    assert "Basic " not in log
