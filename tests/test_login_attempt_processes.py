"""Login attempt limits hold across servers: failures on one node count on the other (the database
counts them), a lock set through one is enforced by the other (the cluster bus tells it), and a node
started while a lock holds enforces it too (it loads the active locks at start)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.auth import basic
from tests.support.server import start_server

TRY_AGAIN_LATER = {"code": 8, "message": "Try again later."}


async def sign_in(session: aiohttp.ClientSession, url: str, kind: str, body: dict[str, str], address: str,
                  query: str = "create=false") -> tuple[int, Any]:
    async with session.post(f"{url}/v2/account/authenticate/{kind}?{query}", json=body,
                            headers=basic() | {"X-Forwarded-For": address}) as response:
        return response.status, await response.json()


async def test_failures_on_two_nodes_lock_the_account_and_address_on_both(tmp_path: Path, database_url: str) -> None:
    nodes = [start_server(tmp_path / name, database_url, "--name", name, "--session.bcrypt_cost", "10")
             for name in ("node-a", "node-b")]
    try:
        a, b = (node.url for node in nodes)
        email, password = f"{uuid.uuid4().hex[:12]}@example.com", "right-password"
        async with aiohttp.ClientSession() as session:
            assert (await sign_in(session, a, "email", {"email": email, "password": password}, "192.0.2.10",
                                  "create=true"))[0] == 200
            # Three failures through one node and two through the other: five for the account.
            for url, count in ((a, 3), (b, 2)):
                for index in range(count):
                    status, _ = await sign_in(session, url, "email", {"email": email, "password": "wrong-password"},
                                              f"192.0.2.{20 + index}")
                    assert status == 401
            for url in (a, b):
                assert await sign_in(session, url, "email", {"email": email, "password": password},
                                     "192.0.2.99") == (429, TRY_AGAIN_LATER)

            # Ten unknown custom IDs from one address, alternating nodes, lock that address on both.
            for index in range(10):
                status, _ = await sign_in(session, (a, b)[index % 2], "custom", {"id": f"guess-{uuid.uuid4().hex}"},
                                          "192.0.2.50")
                assert status == 404
            for url in (a, b):
                assert await sign_in(session, url, "custom", {"id": f"x-{uuid.uuid4().hex}"}, "192.0.2.50",
                                     "create=true") == (429, TRY_AGAIN_LATER)
                assert (await sign_in(session, url, "custom", {"id": f"y-{uuid.uuid4().hex}"}, "192.0.2.51",
                                      "create=true"))[0] == 200

            # The consoles of both nodes share one limit for an operator name (Nakama's console limits).
            consoles = [f"http://127.0.0.1:{node.args[node.args.index('--console.port') + 1]}" for node in nodes]
            operator = f"op_{uuid.uuid4().hex[:8]}"
            for index in range(5):
                async with session.post(f"{consoles[index % 2]}/signin", allow_redirects=False,
                                        data={"username": operator, "password": "guess-guess"}) as response:
                    assert response.status == 401
            for console in consoles:
                async with session.post(f"{console}/signin", allow_redirects=False,
                                        data={"username": operator, "password": "guess-guess"}) as response:
                    assert response.status == 429 and int(response.headers["Retry-After"]) > 0

            late = start_server(tmp_path / "node-c", database_url, "--name", "node-c")
            nodes.append(late)
            assert await sign_in(session, late.url, "email", {"email": email, "password": password},
                                 "192.0.2.98") == (429, TRY_AGAIN_LATER)
            assert await sign_in(session, late.url, "custom", {"id": f"z-{uuid.uuid4().hex}"}, "192.0.2.50",
                                 "create=true") == (429, TRY_AGAIN_LATER)
    finally:
        for node in nodes:
            assert node.stop() == 0
