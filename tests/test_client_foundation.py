"""The real nakama-js 2.8.0 reaches a live nakama-py and gets Nakama-style answers."""

from __future__ import annotations

from pathlib import Path

from nakama_py.errors import Code
from tests.support.node import run_client
from tests.support.server import start_server


def test_nakama_js_reaches_the_server(tmp_path: Path, database_url: str) -> None:
    server = start_server(tmp_path, database_url)
    try:
        result = run_client("foundation.mjs", server.port)
    finally:
        server.stop()
    assert result["healthcheck"] == {"status": 200, "body": {}}
    missing = result["missing"]
    assert missing["ok"] is False
    assert missing["status"] == 404
    assert missing["body"]["code"] == Code.NOT_FOUND
