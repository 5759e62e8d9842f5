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
