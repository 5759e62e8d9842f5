"""Our port of nakama-js's test suite (tests/nakamajs): which tests exist, and running one file with jest.

Tests are listed from the source (one jest test per ``it(...)``, two per ``it.each(adapters)(...)``,
text adapter first, as jest runs them), so pytest can show one item per jest test before running any.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUITE = Path(__file__).resolve().parents[1] / "nakamajs"
ADAPTERS = ("text", "protobuf")  # the order of utils.js `adapters`
# A whole file: its jest timeouts (20 s at most per test) bound each test; this bounds the run.
FILE_TIMEOUT_SEC = 900

_DECLARATION = re.compile(r'^\s*it(?P<kind>\.skip|\.each\(adapters\))?\(\s*"(?P<name>(?:[^"\\]|\\.)*)"', re.M)


@dataclass(frozen=True)
class JsTest:
    file: str             # e.g. "socket.test.js"
    name: str             # the original's test name
    adapter: str | None   # "text" / "protobuf" for the tests run with both socket adapters
    skipped: bool         # it.skip in the original too

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}" + (f"[{self.adapter}]" if self.adapter else "")


@dataclass(frozen=True)
class JsResult:
    status: str           # jest's: passed, failed, pending, ...
    message: str


def suite_files() -> list[str]:
    return sorted(path.name for path in (SUITE / "suite").glob("*.test.js"))


def declared_tests(file: str) -> list[JsTest]:
    source = (SUITE / "suite" / file).read_text(encoding="utf-8")
    tests: list[JsTest] = []
    for found in _DECLARATION.finditer(source):
        name = json.loads(f'"{found["name"]}"')
        kind = found["kind"] or ""
        adapters: tuple[str | None, ...] = ADAPTERS if kind.startswith(".each") else (None,)
        tests += [JsTest(file, name, adapter, kind == ".skip") for adapter in adapters]
    return tests


def chromium_path() -> Path:
    """The browser support/browser.js launches (the same variable and default)."""
    return Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def suite_installed() -> bool:
    return shutil.which("node") is not None and (SUITE / "node_modules" / "jest").is_dir()


def run_file(file: str, port: int, report: Path) -> dict[str, JsResult]:
    """Run one suite file with jest against the server on ``port``: results by ``JsTest.id``."""
    if not suite_installed():
        raise RuntimeError("the nakama-js suite is not installed: run `npm ci --prefix tests/nakamajs` "
                           "(README's test command)")
    if not chromium_path().exists():
        raise RuntimeError(f"no Chromium at {chromium_path()}: `apt-get install -y chromium` (Debian), "
                           "or set CHROMIUM_PATH")
    command = ["node", str(SUITE / "node_modules" / "jest" / "bin" / "jest.js"), "--json",
               f"--outputFile={report}", "--runTestsByPath", f"suite/{file}", "--forceExit"]
    # Its own process group, so a run past the bound is stopped with the chromium it launched.
    jest = subprocess.Popen(command, cwd=SUITE, env={**os.environ, "NAKAMA_PORT": str(port)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = jest.communicate(timeout=FILE_TIMEOUT_SEC)
    except subprocess.TimeoutExpired:
        os.killpg(jest.pid, signal.SIGKILL)
        jest.communicate()
        raise RuntimeError(f"jest did not finish {file} within {FILE_TIMEOUT_SEC} s") from None
    if not report.exists():
        raise RuntimeError(f"jest wrote no report for {file} ({jest.returncode}):\n{stderr[-4000:]}")
    return results_by_id(file, json.loads(report.read_text(encoding="utf-8")), stderr)


def results_by_id(file: str, report: dict[str, Any], stderr: str) -> dict[str, JsResult]:
    by_name: dict[str, list[JsResult]] = {}
    for suite in report.get("testResults", []):
        if suite.get("status") == "failed" and not suite.get("assertionResults"):
            raise RuntimeError(f"jest could not run {file}:\n{suite.get('message', '')}\n{stderr[-4000:]}")
        for assertion in suite["assertionResults"]:
            result = JsResult(assertion["status"], "\n".join(assertion.get("failureMessages") or []))
            by_name.setdefault(assertion["title"], []).append(result)
    results: dict[str, JsResult] = {}
    for name, runs in by_name.items():
        if len(runs) == len(ADAPTERS):  # an it.each(adapters) pair, in adapter order
            results.update({f"{file}::{name}[{adapter}]": run for adapter, run in zip(ADAPTERS, runs, strict=True)})
        elif len(runs) == 1:
            results[f"{file}::{name}"] = runs[0]
        else:
            raise RuntimeError(f"{file}: {len(runs)} tests named {name!r}")
    return results
