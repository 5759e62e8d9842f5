"""Fuzzing the HTTP API from docs/openapi.json (schemathesis) against a real server process and database.

Every operation gets ``FUZZ_EXAMPLES`` seeded requests fitting its schema and as many breaking it: no 5xx
(besides the few Nakama itself answers, tests/support/fuzzing.py ``NAKAMA_5XX``), every reply matches the
description (status, content type, schema), and a refused request leaves every table as it was. Then the
hand-picked bad inputs: malformed UTF-8, huge numbers, deep nesting, duplicate keys, NUL bytes, overlong
headers and query strings."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator

import pytest
import requests
from schemathesis.generation import GenerationMode

from tests.support.database import create_database, drop_database
from tests.support.fuzzing import DatabaseFingerprint, Fuzzer, changed_tables, nakama_5xx
from tests.support.server import REPO, ServerProcess, start_server

FUZZ_EXAMPLES = int(os.environ.get("NAKAMA_PY_FUZZ_EXAMPLES", "10"))
FUZZ_SEED = int(os.environ.get("NAKAMA_PY_FUZZ_SEED", "17"))


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    modules = tmp / "modules"
    modules.mkdir()
    shutil.copy(REPO / "runtime_modules" / "example.py", modules / "example.py")
    database_url = create_database("nakama_py_fuzz")
    server = start_server(tmp, database_url, "--runtime.path", str(modules))
    try:
        yield server, database_url
    finally:
        server.stop()
        drop_database(database_url)


def test_fuzzing_every_operation_finds_no_server_error_and_no_change_by_a_refused_request(
        fuzz_target: tuple[ServerProcess, str]) -> None:
    server, database_url = fuzz_target
    fuzzer = Fuzzer(server.url, database_url)
    try:
        operations = fuzzer.operations()
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzzer.fuzz(operation, mode, FUZZ_EXAMPLES, FUZZ_SEED)
    finally:
        fuzzer.close()
    report = fuzzer.report
    print(f"\nfuzzed {len(operations)} operations with {report.requests} requests (seed {FUZZ_SEED}, "
          f"{FUZZ_EXAMPLES} per operation and mode): {report.server_errors} unexpected 5xx, "
          f"{report.nakama_5xx} of Nakama's own 5xx, {report.refused} refused; statuses {dict(report.statuses)}")
    assert report.requests >= len(operations) * FUZZ_EXAMPLES
    assert report.refused > 0 and report.statuses[200] > 0  # it reached both sides of the checks
    assert not report.failures, "\n\n".join(report.failures)
    assert report.server_errors == 0


# --- hand-picked bad inputs ---------------------------------------------------------------------------

DEEP = 100_000
# (name, method, path, body bytes, statuses allowed)
BAD_BODIES: list[tuple[str, str, str, bytes, set[int]]] = [
    ("malformed UTF-8 in a string", "POST", "/v2/account/link/custom", b'{"id": "abc\xff\xfedefghi"}', {400}),
    ("a lone surrogate escape", "POST", "/v2/account/link/device", b'{"id": "abcdefghijk\\ud800"}', {400}),
    ("overlong UTF-8 encoding", "PUT", "/v2/account", b'{"display_name": "\xc0\xaf"}', {400}),
    ("a number past int64", "POST", "/v2/leaderboard/fuzz_board", b'{"score": 123456789012345678901234567890}',
     {400}),
    ("an int64 string past int64", "POST", "/v2/leaderboard/fuzz_board", b'{"score": "9223372036854775808"}',
     {400}),
    ("a number past double", "POST", "/v2/leaderboard/fuzz_board", b'{"score": 1e400}', {400}),
    ("an int32 past int32", "POST", "/v2/group", b'{"name": "fuzz-group", "max_count": 4294967296}', {400}),
    ("a huge exponent in a permission", "PUT", "/v2/storage",
     b'{"objects": [{"collection": "c", "key": "k", "value": "{}", "permission_read": 1e30}]}', {400}),
    ("deep nesting as the body", "PUT", "/v2/account", b"[" * DEEP + b"]" * DEEP, {400}),
    ("deep nesting in a field", "POST", "/v2/event", b'{"name": "e", "properties": ' + b"[" * DEEP + b"]" * DEEP
     + b"}", {400}),
    ("deep nesting in a storage value", "PUT", "/v2/storage",
     b'{"objects": [{"collection": "c", "key": "k", "value": "' + b"[" * 5000 + b"]" * 5000 + b'"}]}', {200, 400}),
    ("a NUL byte in a custom id", "POST", "/v2/account/link/custom", b'{"id": "abcdefgh\\u0000ij"}', {400}),
    ("a NUL byte in a username", "PUT", "/v2/account", b'{"username": "fuzz\\u0000user"}', {400}),
    ("a NUL byte in a display name", "PUT", "/v2/account", b'{"display_name": "fuzz\\u0000name"}', {400}),
    ("a NUL byte in a storage value", "PUT", "/v2/storage",
     b'{"objects": [{"collection": "c", "key": "k", "value": "{\\"a\\": \\"\\\\u0000\\"}"}]}', {400}),
    ("a NUL byte in a storage key", "PUT", "/v2/storage",
     b'{"objects": [{"collection": "c", "key": "k\\u0000", "value": "{}"}]}', {400}),
    ("a NUL byte in a group name", "POST", "/v2/group", b'{"name": "fuzz\\u0000group"}', {400}),
    ("a NUL byte in event properties", "POST", "/v2/event", b'{"name": "e", "properties": {"k": "\\u0000"}}',
     {200, 400}),
    ("deep nesting around a NUL", "PUT", "/v2/account", b'{"display_name": ' + b"[" * 1020 + b'"\\u0000"'
     + b"]" * 1020 + b"}", {400}),
    ("a NUL byte in a sign-in id", "POST", "/v2/account/authenticate/custom", b'{"id": "abcdefgh\\u0000ij"}',
     {400, 401}),
    ("a NUL byte in record metadata", "POST", "/v2/leaderboard/fuzz_board",
     b'{"score": 1, "metadata": "{\\"a\\": \\"\\u0000\\"}"}', {400, 404}),
    ("a raw NUL byte in the body", "POST", "/v2/account/link/custom", b'{"id": "abc\x00defghij"}', {400}),
    ("a NUL byte in an RPC payload", "POST", "/v2/rpc/storage_roundtrip?unwrap", b'{"a": "\\u0000"}', {400}),
    ("a NUL byte in a notification id", "DELETE", "/v2/notification?ids=%00", b"", {200, 400}),
    ("duplicate keys (the last one counts, as protojson would refuse)", "PUT", "/v2/account",
     b'{"display_name": "first", "display_name": "second"}', {200, 400}),
    ("a key that is not a string", "PUT", "/v2/account", b'{1: "x"}', {400}),
    ("a huge limit", "GET", "/v2/storage/c?limit=" + "9" * 400, b"", {400}),
    ("a limit in other digits", "GET", "/v2/storage/c?limit=%D9%A3", b"", {400}),
    ("malformed UTF-8 in the query", "GET", "/v2/storage/c?cursor=%FF%FE", b"", {400}),
    ("malformed UTF-8 in the path", "GET", "/v2/storage/%FF%FE", b"", {200, 400, 404}),
    ("a NUL byte in the path", "GET", "/v2/leaderboard/a%00b", b"", {400, 404}),
    ("a NUL byte in a repeated query parameter", "GET", "/v2/user?usernames=a%00b", b"", {400}),
    ("a NUL byte in a query filter", "GET", "/v2/group?name=a%00b", b"", {200, 400}),
    ("a NUL byte in a query language tag", "GET", "/v2/group?lang_tag=a%00", b"", {200, 400}),
    ("a NUL byte in a query cursor", "GET", "/v2/storage/c?cursor=%00%ff", b"", {400}),
    ("a NUL byte in a query user id", "GET", "/v2/storage/c?user_id=%00", b"", {400}),
]


def _session_token(server: ServerProcess) -> str:
    reply = requests.post(f"{server.url}/v2/account/authenticate/custom?create=true",
                          json={"id": "fuzz-targeted-user"}, auth=("defaultkey", ""), timeout=10)
    reply.raise_for_status()
    token = reply.json()["token"]
    assert isinstance(token, str)
    return token


def _raw(port: int, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (no client library cleans them up); the status and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize(("name", "method", "path", "body", "allowed"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_input_gets_a_4xx_and_changes_nothing(fuzz_target: tuple[ServerProcess, str], name: str, method: str,
                                                  path: str, body: bytes, allowed: set[int]) -> None:
    server, database_url = fuzz_target
    token = _session_token(server)
    fingerprint = DatabaseFingerprint(database_url)
    try:
        before = fingerprint.take()
        request = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                   ).encode() + body
        status, reply = _raw(server.port, request)
        after = fingerprint.take()
    finally:
        fingerprint.close()
    assert status in allowed or nakama_5xx(status, reply), (status, reply[:300])
    if status >= 400:
        assert reply.startswith(b'{"code":'), reply[:300]
        assert not changed_tables(before, after), f"{name}: refused but changed {changed_tables(before, after)}"


def test_overlong_headers_and_request_lines_are_refused_and_the_server_answers_on(
        fuzz_target: tuple[ServerProcess, str]) -> None:
    server, _ = fuzz_target
    port = server.port
    cases = {
        "a 64 KiB header value": b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n",
        "a 64 KiB query string": b"GET /v2/storage/c?cursor=" + b"a" * 65536 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "10 000 headers": b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\n",
        "a NUL byte in a header": b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
        "malformed UTF-8 in the request line": b"GET /v2/storage/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        "a Content-Length past the body limit": b"PUT /v2/account HTTP/1.1\r\nHost: x\r\nContent-Length: "
        + b"99999999999999999999" + b"\r\n\r\n",
    }
    for name, request in cases.items():
        status, _ = _raw(port, request + b"")
        assert 400 <= status < 500, (name, status)
    assert requests.get(f"{server.url}/healthcheck", timeout=5).status_code == 200
