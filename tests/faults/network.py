"""A PostgreSQL reached over a link the test controls: the database runs in a network namespace of
its own, joined to the host by a veth pair; ``cut()`` takes the link down, ``slow()`` throttles
both ends with a tc qdisc, ``lossy()`` drops a share of the packets both ways, ``silence(port)`` drops
every packet of one client connection (its host gone without a word). Everything is created
by the test and removed afterwards (the namespace takes its nftables table with it).

This machine's kernel has no ``sch_netem`` (``tc qdisc add ... netem`` answers "Specified qdisc kind
is unknown"), so a slow link is made with ``htb`` (a tiny rate: every packet queues) and random loss
with an nftables rule in the database's namespace (``numgen random``: what netem's ``loss`` does),
which the kernel has built in (Debian's ``nftables`` package gives the ``nft`` command).
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.faults.postgres import PrivatePostgres, private_postgres

LOSS_TABLE = "nakama_faults_loss"
SILENCE_TABLE = "nakama_faults_silence"


def sh(*args: str, stdin: str | None = None) -> None:
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")


@dataclass
class Link:
    namespace: str
    host_end: str
    inner_end: str
    database_address: str

    def _both(self, *args: str) -> None:
        sh("tc", *args[:2], "dev", self.host_end, *args[2:])
        sh("ip", "netns", "exec", self.namespace, "tc", *args[:2], "dev", self.inner_end, *args[2:])

    def slow(self, rate: str) -> None:
        """Every packet both ways queues behind a ``rate`` bottleneck."""
        self._both("qdisc", "add", "root", "handle", "1:", "htb", "default", "10", "r2q", "1")
        self._both("class", "add", "parent", "1:", "classid", "1:10", "htb", "rate", rate, "ceil", rate)

    def fast(self) -> None:
        self._both("qdisc", "del", "root")

    def lossy(self, percent: int) -> None:
        """Each packet either way is dropped with ``percent``% probability (TCP retransmits it)."""
        drop = f"numgen random mod 100 < {percent} drop"
        rules = (f"table inet {LOSS_TABLE} {{\n"
                 f"  chain inbound {{ type filter hook input priority 0; iifname \"{self.inner_end}\" {drop}; }}\n"
                 f"  chain outbound {{ type filter hook output priority 0; oifname \"{self.inner_end}\" {drop}; }}\n"
                 "}\n")
        sh("ip", "netns", "exec", self.namespace, "nft", "-f", "-", stdin=rules)

    def lossless(self) -> None:
        sh("ip", "netns", "exec", self.namespace, "nft", "delete", "table", "inet", LOSS_TABLE)

    def silence(self, client_port: int) -> None:
        """Every packet of the client connection from ``client_port`` is dropped, both ways, for good."""
        rules = (f"table inet {SILENCE_TABLE} {{\n"
                 f"  chain inbound {{ type filter hook input priority 0; tcp sport {client_port} drop; }}\n"
                 f"  chain outbound {{ type filter hook output priority 0; tcp dport {client_port} drop; }}\n"
                 "}\n")
        sh("ip", "netns", "exec", self.namespace, "nft", "-f", "-", stdin=rules)

    def cut(self) -> None:
        sh("ip", "link", "set", self.host_end, "down")

    def heal(self) -> None:
        sh("ip", "link", "set", self.host_end, "up")


@dataclass
class RemotePostgres:
    postgres: PrivatePostgres
    link: Link

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.link.database_address}:{self.postgres.port}/nakama"


@contextmanager
def postgres_behind_link() -> Iterator[RemotePostgres]:
    tag = secrets.token_hex(3)
    namespace, host_end, inner_end = f"npf{tag}", f"npf{tag}h", f"npf{tag}n"
    octet = int(tag[:2], 16)
    host_ip, inner_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"
    with private_postgres() as postgres:
        data = Path(postgres.cluster.path) / "primary"  # type: ignore[attr-defined]
        postgres.stop()
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '{inner_ip}'\n")
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {host_ip}/32 trust\n")
        sh("ip", "netns", "add", namespace)
        try:
            sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", inner_end)
            sh("ip", "link", "set", inner_end, "netns", namespace)
            sh("ip", "addr", "add", f"{host_ip}/24", "dev", host_end)
            sh("ip", "link", "set", host_end, "up")
            sh("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{inner_ip}/24", "dev", inner_end)
            sh("ip", "netns", "exec", namespace, "ip", "link", "set", inner_end, "up")
            sh("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up")
            bindir = Path(postgres.cluster.pg_bindir)  # type: ignore[attr-defined]
            sh("ip", "netns", "exec", namespace, "runuser", "-u", "postgres", "--", str(bindir / "pg_ctl"),
               "-D", str(data), "-l", str(data.parent / "pglogs" / "primary.log"), "-w", "start")
            yield RemotePostgres(postgres, Link(namespace, host_end, inner_end, inner_ip))
        finally:
            subprocess.run(["ip", "link", "del", host_end], capture_output=True, check=False)
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
