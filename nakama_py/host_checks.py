"""Warnings about the machine the server runs on, logged once at start (as Redis warns of transparent
huge pages): settings of the host that hurt the server and that only the operator can change."""

from __future__ import annotations

from pathlib import Path

from nakama_py.db.address import is_local

AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")
AUTOGROUP_WARNING = (
    "kernel.sched_autogroup_enabled is 1 and PostgreSQL runs on this machine: the kernel shares the CPUs"
    " between sessions first, each PostgreSQL process is a session of its own, and a busy server can keep a"
    " backend waiting hundreds of milliseconds for a CPU (tail latency). Set it to 0, or give PostgreSQL"
    " more CPU weight than the server (docs/scaling.md, capacity model).")


def scheduling_warning(conninfo: str, autogroup: Path = AUTOGROUP) -> str | None:
    """The warning to log at start, if PostgreSQL shares this machine under autogroup scheduling."""
    if not is_local(conninfo):
        return None
    try:
        enabled = autogroup.read_text().strip() == "1"
    except OSError:  # not Linux, or a kernel built without autogroup
        return None
    return AUTOGROUP_WARNING if enabled else None
