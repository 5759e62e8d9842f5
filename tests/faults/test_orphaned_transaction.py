"""A transaction whose client vanished lets go of its locks within seconds, not hours.

Our side gives up on a dead link within seconds (db/address.py: keepalives, tcp_user_timeout). The
server's side of a connection sends nothing while it waits for the client's next statement, so with the
kernel's defaults a client host that vanished (a partitioned node, a power cut: no reset ever comes)
leaves its transaction, and its row and advisory locks, held for two hours: the same player's next
submission, or the next leader, would wait behind it. Our connections ask the server for the same TCP
bounds, so its keepalive probes go unanswered and it rolls the transaction back."""

from __future__ import annotations

import socket
import time

import psycopg

from nakama_py.db.address import to_conninfo
from nakama_py.db.pool import Database
from tests.faults.network import RemotePostgres

# The server probes an idle connection after 5 s, then every 2 s, and drops it after 3 unanswered probes.
RELEASE_BOUND_S = 5 + 2 * 3 + 4.0


async def test_a_transaction_whose_client_vanished_lets_go_of_its_locks(postgres_over_link: RemotePostgres) -> None:
    remote, link = postgres_over_link, postgres_over_link.link
    db = Database(to_conninfo(remote.url), min_size=1, max_size=2)
    await db.connect()
    try:
        await db.execute("CREATE TABLE held (k int PRIMARY KEY, v text NOT NULL)")
        await db.execute("INSERT INTO held (k, v) VALUES (1, 'before')")
        async with db.connection() as orphan:
            await orphan.execute("BEGIN")
            await orphan.execute("UPDATE held SET v = 'orphaned' WHERE k = 1")  # the row's lock, held
            with socket.socket(fileno=socket.dup(orphan.pgconn.socket)) as sock:
                link.silence(sock.getsockname()[1])
            vanished = time.monotonic()
            async with await psycopg.AsyncConnection.connect(to_conninfo(remote.url), autocommit=True) as other:
                await other.execute("SET lock_timeout = '60s'")
                cur = await other.execute("UPDATE held SET v = v || ', after' WHERE k = 1 RETURNING v")
                assert await cur.fetchone() == ("before, after",)  # the orphan rolled back: its write is gone
                waited = time.monotonic() - vanished
            await orphan.close()  # what the pool does with a connection its user found dead
        assert waited < RELEASE_BOUND_S, waited
    finally:
        await db.close()
