#!/usr/bin/env python3
"""A nakama-py cluster on one machine, as processes (no Docker): the design document's Tier 2/3.

    .venv/bin/python deploy/local/cluster.py up --dir /tmp/npc [--nodes 3] [--workers 1] [--replica] [--nats]
    .venv/bin/python deploy/local/cluster.py status --dir /tmp/npc
    .venv/bin/python deploy/local/cluster.py down --dir /tmp/npc

(the nodes run with the Python that runs this script, so use the one nakama-py is installed in).

``up`` starts a private PostgreSQL primary (and, with ``--replica``, a streaming replica made by
pg_basebackup), a private NATS server (``--nats``), N ``nakama-py serve`` nodes on distinct ports,
and nginx in front of them, all on 127.0.0.1; it prints the balancer's URL and writes every PID and
port to ``<dir>/cluster.json``. ``down`` stops everything by PID and keeps the logs. It needs
PostgreSQL's server binaries, nats-server and nginx (Debian: postgresql, nats-server, nginx).
Run as root, the database processes run as the ``postgres`` user, as PostgreSQL requires.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "cluster.json"
START_TIMEOUT_SEC = 60.0
STOP_TIMEOUT_SEC = 30.0


@dataclass
class Cluster:
    dir: str
    pg_bindir: str
    primary_port: int
    replica_port: int = 0
    nats_port: int = 0
    balancer_port: int = 0
    node_ports: list[int] = field(default_factory=list)
    console_ports: list[int] = field(default_factory=list)
    metrics_ports: list[int] = field(default_factory=list)  # each node's Prometheus endpoint
    node_pids: list[int] = field(default_factory=list)
    nats_pid: int = 0
    nginx_pid: int = 0

    @property
    def path(self) -> Path:
        return Path(self.dir)

    @property
    def database(self) -> str:
        return f"postgres@127.0.0.1:{self.primary_port}/nakama"

    @property
    def replica_database(self) -> str:
        return f"postgres@127.0.0.1:{self.replica_port}/nakama" if self.replica_port else ""

    @property
    def balancer_url(self) -> str:
        return f"http://127.0.0.1:{self.balancer_port}"

    def node_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.node_ports[index]}"

    def metrics_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.metrics_ports[index]}/metrics"

    def save(self) -> None:
        (self.path / STATE_FILE).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, directory: Path) -> Cluster:
        return cls(**json.loads((directory / STATE_FILE).read_text()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_SEC) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SystemExit(f"cluster: {what} did not come up within {timeout:.0f}s")


def port_open(port: int) -> bool:
    """Something listens on the port (not this socket connected to itself: a loopback connect to a free
    ephemeral port can pick that port as its own and succeed)."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0 and sock.getsockname() != sock.getpeername()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthcheck", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


# --- PostgreSQL ------------------------------------------------------------------------------------


def pg_bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise SystemExit("cluster: PostgreSQL server binaries not found (Debian: apt-get install postgresql)")


def as_postgres() -> dict[str, object]:
    """Run PostgreSQL's programs as the postgres user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam("postgres")
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def chown_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(path, account.pw_uid, account.pw_gid)


def run(args: list[str], **kwargs: object) -> None:
    done = subprocess.run(args, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise SystemExit(f"cluster: {Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


def check_traversable(directory: Path) -> None:
    """As root the databases run as postgres, which must be able to reach their directories."""
    if os.geteuid() != 0:
        return
    for parent in [directory, *directory.parents]:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            raise SystemExit(f"cluster: {parent} is not searchable by other users, so the postgres user cannot "
                             "reach the databases under it; use a directory such as /tmp/npc")


def postgres_dir(path: Path) -> Path:
    """A directory the database processes own (they run as postgres when we are root)."""
    path.mkdir(mode=0o700)
    chown_to_postgres(path)
    return path


def start_primary(cluster: Cluster) -> None:
    bindir = Path(cluster.pg_bindir)
    data = postgres_dir(cluster.path / "primary")
    postgres_dir(cluster.path / "pglogs")
    run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"], **as_postgres())
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {cluster.primary_port}\n"
                   f"unix_socket_directories = '{data}'\nwal_level = replica\nmax_wal_senders = 8\n"
                   "hot_standby = on\nmax_connections = 300\nfsync = off\nsynchronous_commit = off\n")
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(cluster.path / "pglogs" / "primary.log"), "-w", "start"],
        **as_postgres())
    run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.primary_port), "-U", "postgres", "nakama"])


def start_replica(cluster: Cluster) -> None:
    bindir = Path(cluster.pg_bindir)
    data = postgres_dir(cluster.path / "replica")
    run([str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(cluster.primary_port), "-U", "postgres",
         "-D", str(data), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast"], **as_postgres())
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(f"\nport = {cluster.replica_port}\nunix_socket_directories = '{data}'\n")
    run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(cluster.path / "pglogs" / "replica.log"), "-w", "start"],
        **as_postgres())


def stop_postgres(cluster: Cluster, name: str) -> None:
    data = cluster.path / name
    if (data / "postmaster.pid").exists():
        subprocess.run([str(Path(cluster.pg_bindir) / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                       **as_postgres())  # type: ignore[call-overload]


# --- NATS, nodes, nginx ----------------------------------------------------------------------------


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                               start_new_session=True, env=env)
    return process.pid


def start_nats(cluster: Cluster) -> None:
    store = cluster.path / "nats"
    store.mkdir()
    cluster.nats_pid = spawn(["nats-server", "-a", "127.0.0.1", "-p", str(cluster.nats_port), "-js", "-sd", str(store)],
                             cluster.path / "nats.log")
    wait_for(lambda: port_open(cluster.nats_port), "nats-server")


def node_command(cluster: Cluster, index: int, workers: int, extra: list[str]) -> list[str]:
    args = [sys.executable, "-m", "nakama_py", "serve", "--name", f"node{index + 1}",
            "--socket.port", str(cluster.node_ports[index]), "--socket.workers", str(workers),
            "--database.address", cluster.database, "--data_dir", str(cluster.path / f"node{index + 1}"),
            "--shutdown_grace_sec", "5", "--console.port", str(cluster.console_ports[index])]
    if cluster.metrics_ports:
        args += ["--metrics.prometheus_port", str(cluster.metrics_ports[index])]
    if cluster.replica_port:
        args += ["--database.read_address", cluster.replica_database]
    if cluster.nats_port:
        args += ["--cluster.nats_url", f"nats://127.0.0.1:{cluster.nats_port}", "--cluster.nats_prefix", "npc"]
    return args + extra


def start_node(cluster: Cluster, index: int, workers: int, extra: list[str]) -> int:
    pid = spawn(node_command(cluster, index, workers, extra), cluster.path / f"node{index + 1}.log")
    return pid


NGINX_CONF = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-tmp;
    proxy_temp_path {dir}/nginx-tmp;
    fastcgi_temp_path {dir}/nginx-tmp;
    uwsgi_temp_path {dir}/nginx-tmp;
    scgi_temp_path {dir}/nginx-tmp;
    upstream nakama {{
{servers}
        keepalive 64;
    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://nakama;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # A node that is down or draining: try the next one (idempotent requests only, as nginx decides).
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 1s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def start_nginx(cluster: Cluster) -> None:
    (cluster.path / "nginx-tmp").mkdir(exist_ok=True)
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;" for port in cluster.node_ports)
    conf = cluster.path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=cluster.path, servers=servers, port=cluster.balancer_port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    cluster.nginx_pid = spawn([nginx, "-c", str(conf), "-p", str(cluster.path)], cluster.path / "nginx.log")
    wait_for(lambda: port_open(cluster.balancer_port), "nginx")


def kill(pid: int, timeout: float = STOP_TIMEOUT_SEC) -> None:
    if pid <= 0:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if group_gone(pid):
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)
    group_gone(pid)


def group_gone(pid: int) -> bool:
    """Whether the process group led by ``pid`` has exited. A leader that is this process's own child (a
    caller such as measure.py or a test that started the cluster and is still running) stays a zombie,
    still a member of its group, until it is reaped: reap it here, or the group never looks gone."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


# --- commands --------------------------------------------------------------------------------------


def up(args: argparse.Namespace) -> Cluster:
    directory = Path(args.dir).resolve()
    if (directory / STATE_FILE).exists():
        raise SystemExit(f"cluster: {directory} holds a cluster already; run down first")
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(directory, 0o755)
    check_traversable(directory)
    cluster = Cluster(dir=str(directory), pg_bindir=str(pg_bindir()), primary_port=free_port(),
                      replica_port=free_port() if args.replica else 0, nats_port=free_port() if args.nats else 0,
                      balancer_port=free_port(), node_ports=[free_port() for _ in range(args.nodes)],
                      console_ports=[free_port() for _ in range(args.nodes)],
                      metrics_ports=[free_port() for _ in range(args.nodes)])
    cluster.save()
    try:
        start_primary(cluster)
        if args.replica:
            start_replica(cluster)
        if args.nats:
            start_nats(cluster)
        cluster.save()
        for index in range(args.nodes):
            cluster.node_pids.append(start_node(cluster, index, args.workers, args.serve_args))
            cluster.save()
        for index in range(args.nodes):
            wait_for(functools.partial(healthy, cluster.node_url(index)), f"node{index + 1}")
        start_nginx(cluster)
        cluster.save()
    except BaseException:
        down_cluster(cluster)
        raise
    return cluster


def down_cluster(cluster: Cluster) -> None:
    kill(cluster.nginx_pid, 5)
    for pid in cluster.node_pids:
        kill(pid)
    kill(cluster.nats_pid, 5)
    stop_postgres(cluster, "replica")
    stop_postgres(cluster, "primary")
    (cluster.path / STATE_FILE).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cluster.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start a cluster")
    start.add_argument("--dir", required=True, help="directory for data, logs and cluster.json")
    start.add_argument("--nodes", type=int, default=3)
    start.add_argument("--workers", type=int, default=1, help="socket.workers of each node")
    start.add_argument("--replica", action="store_true", help="add a streaming replica for reads")
    start.add_argument("--nats", action="store_true", help="a NATS server as the cluster bus")
    start.add_argument("serve_args", nargs="*", help="more `nakama-py serve` flags for every node (after --)")
    for name in ("down", "status"):
        command = commands.add_parser(name)
        command.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    if args.command == "up":
        cluster = up(args)
        print(json.dumps({"balancer": cluster.balancer_url, "nodes": [cluster.node_url(i) for i in range(args.nodes)],
                          "database": cluster.database, "replica": cluster.replica_database}, indent=2))
        return 0
    cluster = Cluster.load(Path(args.dir).resolve())
    if args.command == "down":
        down_cluster(cluster)
        return 0
    status = {f"node{i + 1}": healthy(cluster.node_url(i)) for i in range(len(cluster.node_ports))}
    status["balancer"] = healthy(cluster.balancer_url)
    print(json.dumps(status, indent=2))
    return 0 if all(status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
