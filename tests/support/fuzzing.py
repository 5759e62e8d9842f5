"""Fuzzing the HTTP API from docs/openapi.json with schemathesis, against a real server and database.

Each operation gets a bounded, seeded number of generated requests (positive: fitting the schema; negative:
breaking it). Every response is checked (no 5xx, a documented status, content type and schema), and every
refused request (4xx) must leave the database as it was: the contents of every table are hashed before and
after it (``DatabaseFingerprint``), the cluster's own bookkeeping tables aside (heartbeats change on their own).
Requests run one at a time, so nothing else changes the database in between."""

from __future__ import annotations

import base64
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import psycopg
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

Operation = APIOperation[Any, Any, Any, Any]
DOCS = Path(__file__).resolve().parents[2] / "docs"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SERVER_KEY = "defaultkey"
# Tables whose rows change without any request: the cluster's heartbeats and bus spill-over.
VOLATILE_TABLES = ("nakama_py_cluster_node", "nakama_py_cluster_message")


# 5xx replies Nakama itself gives for these inputs, kept on purpose and pinned by their own tests; the fuzzing
# counts them apart (``nakama_5xx``) and fails on any other 5xx.
NAKAMA_5XX = {
    # Nakama's own DataLoss for a malformed signed_player_info (tests/test_authenticate.py).
    ("POST /v2/account/authenticate/facebookinstantgame", 500,
     '{"code":15,"message":"Error extracting the Facebook Instant Game player ID or validating the signature"}'),
    # Nakama's database refuses an empty lang_tag (NOT NULL) or a value longer than its column
    # (tests/test_account.py).
    ("PUT /v2/account", 500, '{"code":13,"message":"Error while trying to update account."}'),
    # Nakama's database refuses notification ids that are not UUIDs (core/notifications.py).
    ("DELETE /v2/notification", 500, '{"code":13,"message":"Error while deleting notifications."}'),
    # Nakama's ListParties answers a query or cursor it cannot use with Internal, in its words (api/parties.py);
    # HEAD is the same reply without its body.
    ("GET /v2/party", 500, '{"code":13,"message":"Error listing matches."}'),
    ("HEAD /v2/party", 500, ""),
}


def nakama_5xx(status: int, body: bytes) -> bool:
    """A 5xx reply Nakama gives for the same input (``NAKAMA_5XX``)."""
    return any(status == known_status and known and body == known.encode() for _, known_status, known in NAKAMA_5XX)


class DatabaseFingerprint:
    """A hash of every row of every table, to tell whether a request changed anything."""

    def __init__(self, database_url: str) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)
        tables = [row[0] for row in self.conn.execute(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            if row[0] not in VOLATILE_TABLES]
        parts = [f"SELECT '{t}' AS t, md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) AS h "
                 f"FROM {t} x" for t in tables]
        self.query = " UNION ALL ".join(parts)

    def take(self) -> dict[str, str]:
        return {str(t): str(h) for t, h in self.conn.execute(self.query)}

    def close(self) -> None:
        self.conn.close()


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before if before[t] != after.get(t))


@dataclass
class FuzzReport:
    requests: int = 0
    server_errors: int = 0
    nakama_5xx: int = 0
    refused: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        if len(self.failures) < 200:
            self.failures.append(text)


class Fuzzer:
    def __init__(self, base_url: str, database_url: str) -> None:
        self.base_url = base_url
        self.schema = schemathesis.openapi.from_path(DOCS / "openapi.json")
        self.http = requests.Session()
        self.fingerprint = DatabaseFingerprint(database_url)
        self.report = FuzzReport()
        self.custom_id = "fuzzer-" + secrets.token_hex(6)
        self.token = ""
        self.sign_in()

    def sign_in(self) -> None:
        """A session of the fuzzing user (created again if a fuzzed request deleted or unlinked it)."""
        reply = self.http.post(f"{self.base_url}/v2/account/authenticate/custom?create=true",
                               json={"id": self.custom_id}, headers={"Authorization": self.basic()})
        reply.raise_for_status()
        self.token = reply.json()["token"]

    @staticmethod
    def basic() -> str:
        return "Basic " + base64.b64encode(f"{SERVER_KEY}:".encode()).decode()

    def credentials(self, operation: Operation) -> dict[str, str]:
        security = operation.definition.raw.get("security", [])
        if not security:
            return {}
        if security[0].get("serverKey") is not None:
            return {"Authorization": self.basic()}
        return {"Authorization": "Bearer " + self.token}

    def operations(self) -> list[Operation]:
        """Every operation of the description; one schemathesis cannot read fails the run."""
        found = []
        for result in self.schema.get_all_operations():
            if not isinstance(result, Ok):
                raise AssertionError(f"docs/openapi.json: {result.err()}")
            found.append(result.ok())
        return found

    def fuzz(self, operation: Operation, mode: GenerationMode, examples: int, seed: int) -> None:
        report = self.report

        @hypothesis.seed(seed)
        @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                  print_blob=False)
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            headers = self.credentials(operation)
            before = self.fingerprint.take()
            try:
                response = case.call(base_url=self.base_url, session=self.http, headers=headers, timeout=30)
            except requests.RequestException as exc:
                report.requests += 1
                report.fail(f"{operation.label} [{mode}]: no response: {exc!r}\n{case.as_curl_command()}")
                return
            report.requests += 1
            report.statuses[response.status_code] += 1
            report.by_operation[f"{operation.label} {response.status_code}"] += 1
            nakama_5xx = (operation.label, response.status_code, response.text) in NAKAMA_5XX
            if response.status_code >= 500:
                if nakama_5xx:
                    report.nakama_5xx += 1
                else:
                    report.server_errors += 1
            if 400 <= response.status_code < 500:
                report.refused += 1
                changed = changed_tables(before, self.fingerprint.take())
                if changed:
                    report.fail(f"{operation.label} [{mode}]: refused with {response.status_code} but changed "
                                f"{changed}\n{case.as_curl_command(headers=headers)}")
            try:
                case.validate_response(response, checks=CHECKS[1:] if nakama_5xx else CHECKS, headers=headers)
            except FailureGroup as exc:
                report.fail(f"{operation.label} [{mode}]: {exc}")
            if response.status_code == 401 or (response.status_code < 300 and operation.label in RESIGN_IN):
                self.sign_in()

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            # Negative mode on an operation with nothing to break (no parameters, no body).
            assert mode is GenerationMode.NEGATIVE, operation.label

    def close(self) -> None:
        self.fingerprint.close()
        self.http.close()


# Operations after which the fuzzing user's token may no longer work.
RESIGN_IN = {"DELETE /v2/account", "POST /v2/session/logout", "POST /v2/account/unlink/custom"}
