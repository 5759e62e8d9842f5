"""bcrypt password hashes, computed off the event loop.

Hashing at Nakama's cost (13) takes hundreds of milliseconds of CPU, so it runs on
a small thread pool of its own (bcrypt releases the GIL): one login never stalls
other requests, and a burst of logins queues here instead of taking every thread
of the loop's default executor.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import bcrypt

from nakama_py.core.account_rules import BCRYPT_MAX_BYTES

# Nakama uses max(bcrypt.DefaultCost, 13).
HASH_COST = 13

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1),
                                           thread_name_prefix="bcrypt")
        return _executor


def _hash(password: bytes, cost: int) -> bytes:
    # "2a" is the prefix Go's bcrypt writes, so hashes look like the ones Nakama stores.
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds=cost, prefix=b"2a"))


def _check(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:  # not a bcrypt hash
        return False


def can_hash(password: str) -> bool:
    """Go's bcrypt refuses passwords longer than 72 bytes."""
    return len(password.encode()) <= BCRYPT_MAX_BYTES


async def hash_password(password: str, cost: int = HASH_COST) -> bytes:
    """The bcrypt hash of a password of at most 72 bytes (see ``can_hash``)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), _hash, password.encode(), cost)


async def check_password(password: str, hashed: bytes | None) -> bool:
    """Whether ``password`` matches a stored hash; False when there is none."""
    if not hashed:
        return False
    # bcrypt only ever reads the first 72 bytes, as Go's comparison does.
    secret = password.encode()[:BCRYPT_MAX_BYTES]
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), _check, secret, bytes(hashed))
