"""A server process and its direct children (the worker processes), read from /proc."""

from __future__ import annotations


def process_tree(pid: int) -> list[int]:
    """``pid`` first, then its children; only ``pid`` when /proc cannot tell (gone, or not Linux)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [pid, *(int(child) for child in handle.read().split())]
    except OSError:
        return [pid]
