"""The load generator stands apart: ``nakama_py/bench`` imports nothing of the server (only the
wire API, its own modules, the standard library and third-party packages), and the in-process
rank warm-up benchmark (bench/rank_warm.py, outside the package) still runs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support.database import admin_url
from tests.support.server import REPO

BENCH = REPO / "nakama_py" / "bench"


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.append("nakama_py.bench")  # relative: its own package
    return names


def test_the_bench_package_imports_no_server_module() -> None:
    files = sorted(BENCH.rglob("*.py"))
    assert files
    offending = {f"{path.relative_to(REPO)}: {name}" for path in files for name in imported_modules(path)
                 if (name == "nakama_py" or name.startswith("nakama_py.")) and not name.startswith("nakama_py.bench")}
    assert not offending, sorted(offending)


def test_rank_warm_reports_the_warm_up_of_a_filled_board() -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "rank_warm.py"), "--records", "2000",
                             "--admin-url", admin_url()], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    # The 2,000 records plus the small board beside them (reads of a small board while a big one exists).
    assert "filled 2,000 records in" in result.stdout
    assert "start-up (start() returns, serving):" in result.stdout
    assert "warm-up (background): 3,000 records in" in result.stdout
    assert "resident memory: +" in result.stdout
