"""The caller's address as Nakama reports it in ``ctx.client_ip``/``client_port``.

Candidates come from ``X-Forwarded-For`` (comma-separated, the client first) or,
without it, the connection's peer. Walking from the right, loopback entries are
skipped (local proxies) unless nothing else is left, and ``socket.proxy_count``
trusted proxies are stepped over before the client is taken.
"""

from __future__ import annotations

import ipaddress


def _split_host_port(candidate: str) -> tuple[str, str] | None:
    """``host:port``, ``[v6]:port``, or a bare address; None when it is no IP at all."""
    host, port = candidate, ""
    if candidate.startswith("["):
        end = candidate.find("]")
        if end < 0:
            return None
        host, rest = candidate[1:end], candidate[end + 1:]
        if rest.startswith(":"):
            port = rest[1:]
        elif rest:
            return None
    elif candidate.count(":") == 1:
        host, port = candidate.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host, port


def _is_loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback


def client_address(forwarded_for: str | None, peer: tuple[str, int] | None,
                   proxy_count: int) -> tuple[str | None, str | None]:
    """``(ip, port)``; port is None when the chosen candidate carried none, both None when unknown."""
    if not forwarded_for:
        return (peer[0], str(peer[1])) if peer else (None, None)
    candidates = forwarded_for.split(",")
    ip: str | None = None
    port = ""
    seen = 0
    for index in range(len(candidates) - 1, -1, -1):
        if ip is not None:
            seen += 1
        parsed = _split_host_port(candidates[index].strip())
        if parsed is None:
            continue
        host, host_port = parsed
        if index > 0 and _is_loopback(host):
            continue
        ip, port = host, host_port
        if seen >= proxy_count:
            break
    if ip is None:
        return None, None
    return ip, port or None
