"""Run a script from tests/clients with the real, unmodified nakama-js against a live server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

CLIENTS = Path(__file__).resolve().parents[1] / "clients"


def node_available() -> bool:
    return shutil.which("node") is not None and (CLIENTS / "node_modules" / "@heroiclabs" / "nakama-js").is_dir()


def run_client(script: str, port: int, *, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
    if not node_available():
        raise RuntimeError("nakama-js is not installed: run `npm ci --prefix tests/clients` (README's test command)")
    result = subprocess.run(
        ["node", str(CLIENTS / script)],
        cwd=CLIENTS,
        env={**os.environ, "NAKAMA_HOST": "127.0.0.1", "NAKAMA_PORT": str(port), **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"{script} failed ({result.returncode}):\n{result.stderr}\n{result.stdout}")
    lines = [line for line in result.stdout.split("\n") if line.strip()]  # not splitlines: U+2028 is data
    return json.loads(lines[-1])
