"""Before the supervisor forks its workers: leave its heap in a state whose pages the workers keep sharing.

A page the parent holds when it forks stays shared between the workers until one of them writes to it.
Two kinds of writes are avoidable:

- glibc's free chunks: a page of free memory is still resident and shared, and the first worker
  allocation there copies it. ``malloc_trim`` hands those pages back first (a worker that needs the
  memory gets a fresh page, which it would own anyway).
- pymalloc's partly used pools: a worker's small allocations fill the free blocks of the parent's pools
  first, copying a page that also holds live shared objects. Filling those blocks in the parent (with
  objects kept for the process's life) sends the workers' allocations to pools of their own.

``prepare_heap`` does both; gc.collect() and gc.freeze() come after it (server.supervise).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import tempfile

_ROW = re.compile(r"^\s+\d+\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s*$")  # class, size, pools, blocks in use, avail blocks
BYTES_HEADER = sys.getsizeof(b"")  # a bytes object of n bytes takes BYTES_HEADER + n
_FILLERS: list[object] = []  # kept for the process's life: they hold the pools' free blocks


def available_blocks() -> dict[int, int]:
    """pymalloc's free blocks in used pools, by block size (from ``sys._debugmallocstats``, which
    writes to the standard error descriptor)."""
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    found = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            found[int(match.group(1))] = int(match.group(2))
    return found


def fill_pool_holes() -> int:
    """Occupy the free blocks of pymalloc's used pools; the number of blocks taken."""
    taken = 0
    for size, count in available_blocks().items():
        if size - BYTES_HEADER < 1:
            continue  # too small for a bytes object (16 and 32 byte blocks)
        _FILLERS.extend(bytes(size - BYTES_HEADER) for _ in range(count))
        taken += count
    return taken


def trim_malloc() -> None:
    """glibc's free memory back to the kernel (a no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def prepare_heap() -> None:
    fill_pool_holes()
    trim_malloc()
