"""``nakama-py openapi [--check] [DIR]``: write (or check) DIR/openapi.json and DIR/openapi-console.json."""

from __future__ import annotations

import sys
from pathlib import Path

from nakama_py.openapi.console import console_document
from nakama_py.openapi.document import api_document, render

USAGE = """usage: nakama-py openapi [--check] [DIR]

Writes the OpenAPI 3.1 descriptions of the HTTP API (DIR/openapi.json) and of the console
(DIR/openapi-console.json); DIR defaults to ./docs. With --check nothing is written: the exit
status is 1 when a file differs from what this version generates."""


def documents() -> dict[str, bytes]:
    return {"openapi.json": render(api_document()), "openapi-console.json": render(console_document())}


def main(args: list[str]) -> int:
    if "-h" in args or "--help" in args:
        print(USAGE)
        return 0
    check = "--check" in args
    rest = [arg for arg in args if arg != "--check"]
    if len(rest) > 1 or any(arg.startswith("-") for arg in rest):
        print(USAGE, file=sys.stderr)
        return 2
    folder = Path(rest[0] if rest else "docs")
    stale = []
    for name, content in documents().items():
        path = folder / name
        if check:
            if not path.is_file() or path.read_bytes() != content:
                stale.append(str(path))
        else:
            path.write_bytes(content)
            print(f"wrote {path}")
    if stale:
        print("out of date (run `nakama-py openapi`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0
