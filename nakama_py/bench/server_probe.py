"""What the load generator can see of a server on this machine: its processes' resident memory
and CPU time, read from /proc (Linux). The server is ``--server-pid`` (with its child processes),
or else found by the listening port of ``--url`` when that is a local address: the processes
holding a listening socket on that port, and their common parent when it runs the same program
or nakama-py's supervisor program (the supervisor forks the workers that share the port, then
becomes ``python -S .../nakama_py/supervisor.py``).

CPU time read this way is the one figure a shared, loaded machine does not distort much: the
server's CPU per request stays near its true value while throughput and latency move with the
neighbours' load."""

from __future__ import annotations

import os
from dataclasses import dataclass

from nakama_py.bench.process_tree import process_tree

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
LISTEN = "0A"


@dataclass(frozen=True)
class Sample:
    rss_kib: int  # resident memory summed over the processes (pages shared after fork counted in each)
    pss_kib: int  # proportional set size summed: shared pages split between their sharers (0 if unreadable)
    cpu_s: float  # user + system of every process, since each started


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return inodes


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _supervises(parent: int, child: int) -> bool:
    """``parent`` runs the program ``child`` runs, or is nakama-py's supervisor program."""
    program = _cmdline(parent)
    return program == _cmdline(child) or any(arg.endswith(b"nakama_py/supervisor.py") for arg in program.split(b"\0"))


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def find_server(host: str, port: int) -> list[int]:
    """The server's processes on this machine, by the port it listens on; [] when not visible."""
    if host not in LOCAL_HOSTS:
        return []
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not inodes:
        return []
    holders = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") in inodes:
                    holders.add(int(entry))
                    break
            except OSError:
                continue
    if not holders:
        return []
    parents = {_parent(pid) for pid in holders}
    if len(parents) == 1:
        parent = parents.pop()
        if parent > 1 and _supervises(parent, next(iter(holders))):
            return process_tree(parent)
    return sorted(holders)


def server_tree(pid: int) -> list[int]:
    return process_tree(pid)


def sample(pids: list[int]) -> Sample:
    rss = pss = 0
    cpu_ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            try:
                with open(f"/proc/{pid}/smaps_rollup") as handle:
                    for line in handle:
                        if line.startswith("Pss:"):
                            pss += int(line.split()[1])
            except OSError:
                pass
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            cpu_ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return Sample(rss, pss, cpu_ticks / os.sysconf("SC_CLK_TCK"))
