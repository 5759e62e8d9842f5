"""Nakama's ``database.address`` form, ``user[:pass]@host[:port][/dbname]``, as a libpq URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict

DEFAULT_DATABASE = "nakama"
DEFAULT_USER = "root"
DEFAULT_PORT = 5432
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class AddressError(ValueError):
    pass


def to_conninfo(address: str) -> str:
    """A libpq connection URL for one configured address.

    ``postgresql://`` and ``postgres://`` URLs pass through unchanged.
    """
    address = address.strip()
    if not address:
        raise AddressError("database.address: empty address")
    if address.startswith(("postgresql://", "postgres://")):
        return address
    userinfo, at, hostpart = address.rpartition("@")
    if not at:
        userinfo, hostpart = DEFAULT_USER, address
    user, _, password = userinfo.partition(":")
    user = user or DEFAULT_USER
    hostport, _, rest = hostpart.partition("/")
    dbname, _, params = rest.partition("?")
    if hostport.startswith("["):  # [ipv6]:port
        host, _, port_text = hostport[1:].partition("]")
        port_text = port_text.lstrip(":")
        host = f"[{host}]"
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise AddressError(f"database.address: no host in {address!r}")
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        raise AddressError(f"database.address: bad port in {address!r}") from None
    credentials = quote(user, safe="")
    if password:
        credentials += ":" + quote(password, safe="")
    url = f"postgresql://{credentials}@{host}:{port}/{quote(dbname or DEFAULT_DATABASE, safe='')}"
    return f"{url}?{params}" if params else url


def is_local(conninfo: str) -> bool:
    """Whether any host of a connection string is this machine: a loopback address or a socket directory
    (no host at all is libpq's default socket)."""
    hosts = str(conninfo_to_dict(conninfo).get("host") or "").split(",")
    return any(not host.strip() or host.strip() in LOCAL_HOSTS or host.strip().startswith("/") for host in hosts)


def session_conninfo(session_address: str, pooled: str) -> str:
    """Where connections that keep a session go: ``database.session_address`` when set (the
    direct address behind a transaction-pooling pgbouncer), else the pooled one."""
    return to_conninfo(session_address) if session_address.strip() else pooled


def describe(conninfo: str) -> str:
    """The URL with its password hidden, for logs."""
    scheme, sep, rest = conninfo.partition("://")
    if not sep or "@" not in rest:
        return conninfo
    userinfo, _, tail = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}@{tail}"


# libpq's TCP settings on every connection of ours (pool and dedicated): a cut or silent network
# fails a connection within seconds instead of the kernel's minutes, so a cancelled query, a
# rollback or a LISTEN session on a dead link is given up quickly and replaced.
LINK_TIMEOUTS: dict[str, Any] = {
    "connect_timeout": 5,        # seconds to open a connection
    "keepalives": 1,
    "keepalives_idle": 5,        # an idle connection is probed after 5 s ...
    "keepalives_interval": 2,    # ... every 2 s ...
    "keepalives_count": 3,       # ... and dropped after 3 unanswered probes
    "tcp_user_timeout": 5000,    # ms sent data may stay unacknowledged
}
# The same bounds asked of the server for its side (settings any user may SET). It sends nothing while
# it waits for a client's next statement, so with the kernel's defaults a client that vanished without a
# reset (a partitioned node, a power cut) keeps its transaction and its row and advisory locks for two
# hours; with these its keepalives find the client gone within 11 s and it rolls back.
SERVER_LINK_OPTIONS = ("-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
                       " -c tcp_user_timeout=5000")


def link_settings(conninfo: str, *, pgbouncer: bool = False) -> dict[str, Any]:
    """libpq parameters for each of our connections to ``conninfo``: ``LINK_TIMEOUTS``, and
    ``SERVER_LINK_OPTIONS`` after the address's own ``options``. Not through pgbouncer, which refuses the
    ``options`` startup parameter (its links to the server are its own)."""
    if pgbouncer:
        return dict(LINK_TIMEOUTS)
    try:
        own = conninfo_to_dict(conninfo).get("options")
    except psycopg.ProgrammingError:  # a malformed address: the connect reports it
        own = None
    return {**LINK_TIMEOUTS, "options": f"{own} {SERVER_LINK_OPTIONS}" if own else SERVER_LINK_OPTIONS}
