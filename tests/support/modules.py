"""Writing runtime modules into a temporary directory for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_module(directory: Path, name: str, source: str) -> Path:
    """Write ``source`` (dedented) as ``directory/name``; the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, marker: str) -> int:
    """The 1-based number of the first line of ``path`` containing ``marker``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {path}")
