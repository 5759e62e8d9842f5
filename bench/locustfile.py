"""The bench scenarios' traffic for Locust users: the same requests as ``nakama-py bench``.

    pip install 'nakama-py[locust]'
    locust -f bench/locustfile.py --host http://127.0.0.1:7350 --headless \\
        --users 64 --spawn-rate 64 --run-time 20s --scenario mix

--scenario: mix (70% get_leaderboard, 30% submit_race_time; the default), leaderboard,
submit, echo, account or auth. --server-key / --http-key as configured on the server.
Each simulated user signs in once with a custom id (not timed as a scenario request: it
is reported under its own name) and refreshes its session before it expires. Locust is a
closed loop and its own CPU often limits it first: for figures, prefer ``nakama-py bench``.
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from typing import Any

from locust import FastHttpUser, events, task
from locust.argument_parser import LocustArgumentParser

REFRESH_MARGIN_S = 30.0
RACE_TIME_MEAN, RACE_TIME_SPREAD = 52.0, 6.0  # seconds, as the bench sends


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]  # locust's hooks are untyped
def _options(parser: LocustArgumentParser) -> None:
    parser.add_argument("--scenario", choices=["mix", "leaderboard", "submit", "echo", "account", "auth"],
                        default="mix", help="the traffic to send")
    parser.add_argument("--server-key", default="defaultkey", help="socket.server_key")
    parser.add_argument("--http-key", default="defaulthttpkey", help="runtime.http_key (unused by these scenarios)")
    parser.add_argument("--read-limit", type=int, default=100, help="get_leaderboard limit")


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def _rpc_body(payload: dict[str, Any]) -> str:
    """Clients send an RPC payload as a JSON string holding the JSON."""
    return json.dumps(json.dumps(payload, separators=(",", ":")))


def _expiry(token: str) -> int:
    part = token.split(".")[1]
    return int(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["exp"])


class NakamaPlayer(FastHttpUser):
    """One player: signs in, then sends the chosen scenario's requests back to back."""

    token = ""
    refresh_token = ""
    expires_at = 0

    def on_start(self) -> None:
        self.options = self.environment.parsed_options
        self.server_auth = {"Authorization": _basic(self.options.server_key)}
        self.submissions = 0
        self.key_prefix = uuid.uuid4().hex[:16]  # idempotency keys: unique per player and submission
        if self.options.scenario != "auth":
            self._sign_in(f"locust-{uuid.uuid4().hex}")

    def _sign_in(self, custom_id: str, name: str = "authenticate/custom (setup)") -> None:
        with self.client.post("/v2/account/authenticate/custom?create=true", json={"id": custom_id},
                              headers=self.server_auth, name=name, catch_response=True) as response:
            if response.status_code == 200:
                self._keep(response.json())
            else:
                response.failure(f"HTTP {response.status_code}")

    def _keep(self, session: dict[str, Any]) -> None:
        self.token, self.refresh_token = session["token"], session["refresh_token"]
        self.expires_at = _expiry(self.token)

    def _bearer(self) -> dict[str, str]:
        if self.expires_at - time.time() < REFRESH_MARGIN_S:
            response = self.client.post("/v2/account/session/refresh", json={"token": self.refresh_token},
                                        headers=self.server_auth, name="session/refresh (upkeep)")
            if response.status_code == 200:
                self._keep(response.json())
        return {"Authorization": f"Bearer {self.token}"}

    def _read(self) -> None:
        self.client.post("/v2/rpc/get_leaderboard", data=_rpc_body({"limit": self.options.read_limit}),
                         headers=self._bearer(), name="get_leaderboard")

    def _submit(self) -> None:
        self.submissions += 1
        seconds = round(min(120.0, max(30.0, random.gauss(RACE_TIME_MEAN, RACE_TIME_SPREAD))), 3)
        payload = {"race_time": seconds, "idempotency_key": f"{self.key_prefix}-{self.submissions}"}
        self.client.post("/v2/rpc/submit_race_time", data=_rpc_body(payload), headers=self._bearer(),
                         name="submit_race_time")

    @task
    def step(self) -> None:
        scenario = self.options.scenario
        if scenario == "mix":
            if random.random() < 0.7:
                self._read()
            else:
                self._submit()
        elif scenario == "leaderboard":
            self._read()
        elif scenario == "submit":
            self._submit()
        elif scenario == "echo":
            self.client.post("/v2/rpc/echo", data=_rpc_body({"hello": "world"}), headers=self._bearer(),
                             name="echo")
        elif scenario == "account":
            self.client.get("/v2/account", headers=self._bearer(), name="get_account")
        else:
            self._sign_in(f"locust-{uuid.uuid4().hex}", name="authenticate/custom")
