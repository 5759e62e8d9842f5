"""Writing runtime modules into a temporary directory for tests."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from nakama_py.config import Config
from nakama_py.state import ServerState, build_state


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


@asynccontextmanager
async def state_with_module(make_config: Callable[..., Config], database_url: str, directory: Path, name: str,
                            source: str, *flags: str) -> AsyncIterator[ServerState]:
    """An in-process server whose runtime.path is ``directory``, holding ``source`` as ``name``, built
    from ``make_config`` with ``flags``; closed on exit."""
    write_module(directory, name, source)
    state = await build_state(make_config("--runtime.path", str(directory), *flags), database_url)
    try:
        yield state
    finally:
        await state.close()
