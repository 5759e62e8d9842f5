"""Before forking: pymalloc's free blocks in used pools are taken, so the workers allocate in pools of
their own instead of copying shared pages (nakama_py/fork_memory.py)."""

from __future__ import annotations

import pytest

from nakama_py.fork_memory import BYTES_HEADER, available_blocks, fill_pool_holes, prepare_heap


@pytest.mark.unit
def test_the_free_blocks_of_used_pools_are_read_by_size() -> None:
    blocks = available_blocks()
    assert set(blocks) == {16 * (n + 1) for n in range(32)}  # pymalloc's 32 size classes, 16 to 512 bytes
    assert all(count >= 0 for count in blocks.values())


@pytest.mark.unit
def test_filling_takes_the_free_blocks_a_bytes_object_fits() -> None:
    holes = [bytearray(200) for _ in range(3000)]  # a few pools' worth of blocks, freed every other one
    del holes[::2]
    before = {size: count for size, count in available_blocks().items() if size > BYTES_HEADER}
    assert fill_pool_holes() >= sum(before.values())
    after = {size: count for size, count in available_blocks().items() if size > BYTES_HEADER}
    assert sum(after.values()) < sum(before.values()) / 4
    prepare_heap()  # and glibc's free pages are trimmed without complaint
