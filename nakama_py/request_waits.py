"""Time a request spends waiting on other nodes rather than working, so admission can tell the two apart.

The in-flight bound (wire/concurrency_limit.py) adapts to how long requests take: a request that waits
12 ms for peers to prove read-your-writes (core/node_sync.py) costs no CPU while it waits, yet counted as
latency it lowered the bound and shed a cluster's load that one node would have served. The admission
middleware opens an account per request; whatever waits on a peer adds to it; admission subtracts it.
"""

from __future__ import annotations

from contextvars import ContextVar

# One mutable cell per request, set in the request's task context (a plain float could not be added to
# from a coroutine awaited further down without setting the variable again).
_account: ContextVar[list[float] | None] = ContextVar("nakama_py_peer_wait", default=None)


def open_account() -> list[float]:
    """Start counting for the request running in this context; read ``[0]`` when it is done."""
    account = [0.0]
    _account.set(account)
    return account


def add_peer_wait(seconds: float) -> None:
    account = _account.get()
    if account is not None:
        account[0] += seconds
