"""The physical pages a group of processes maps, each counted once: what stopping them would free, whatever
else on the machine maps the same libraries (PSS splits those pages with other programs). Reads
/proc/PID/pagemap, which shows page frame numbers to root only.

    python bench/unique_pages.py PID [PID ...]     # bench/memory_run.sh passes a server's processes
"""

from __future__ import annotations

import struct
import sys

PAGE = 4096
PRESENT = 1 << 63
PFN_MASK = (1 << 55) - 1


def frames(pid: int) -> set[int]:
    found: set[int] = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            fields = line.split()
            if fields[-1] == "[vsyscall]":
                continue
            start, end = (int(bound, 16) for bound in fields[0].split("-"))
            pagemap.seek(start // PAGE * 8)
            for (entry,) in struct.iter_unpack("Q", pagemap.read((end - start) // PAGE * 8)):
                if entry & PRESENT and entry & PFN_MASK:
                    found.add(entry & PFN_MASK)
    return found


def main(pids: list[int]) -> int:
    group: set[int] = set()
    for pid in pids:
        group |= frames(pid)
    if not group:
        print("  unique pages: unknown (page frame numbers need root)")
        return 1
    print(f"  unique pages {len(group) * PAGE / 2**20:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main([int(arg) for arg in sys.argv[1:]]))
