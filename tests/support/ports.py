from __future__ import annotations

import socket

# The kernel may hand the same free port to two bind(0) calls in a row (about once in 12,000 calls
# here): a test starting several servers must not give two of them one port.
_handed_out: set[int] = set()


def free_port() -> int:
    """A port free on 127.0.0.1 now, and never returned before by this process."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port``. A connect alone does not say so: to a port in the
    ephemeral range with no listener, the kernel may pick that very port for the connecting socket, which
    then connects to itself (TCP simultaneous open)."""
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) != 0:
            return False
        return bool(sock.getsockname() != sock.getpeername())
