"""``nakama-py serve``: the database (embedded when none is configured), migrations,
one or several server processes on the port, and a graceful shutdown.

With ``socket.workers`` > 1 this process forks the workers (each listens on the
port with SO_REUSEPORT so the kernel spreads connections), then becomes the
supervisor program (``supervisor.py``, the same process after exec): it restarts a
worker that dies, serves the summed Prometheus metrics, and on SIGTERM/SIGINT stops
the workers before the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import gc
import logging
import os
import signal
import socket
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from nakama_py import __version__
from nakama_py.app import build_app
from nakama_py.cluster.write_marks import MarkRegion, WriteMarks
from nakama_py.config import Config
from nakama_py.console.app import start_console
from nakama_py.db.address import AddressError, describe, session_conninfo, to_conninfo
from nakama_py.db.bootstrap import DatabaseUnreachable, wait_for_database
from nakama_py.db.embedded import EmbeddedError, EmbeddedPostgres
from nakama_py.db.migrations import migrate_up
from nakama_py.db.pool import Database
from nakama_py.fork_memory import prepare_heap
from nakama_py.host_checks import scheduling_warning
from nakama_py.logs import flush_logs, setup_logging
from nakama_py.metrics import Metrics, clear_multiprocess_dir, enable_multiprocess
from nakama_py.runtime.loader import RuntimeLoadError
from nakama_py.runtime.loop_watch import LoopWatch
from nakama_py.state import ServerState, build_state
from nakama_py.supervisor import EXIT_STARTUP_FAILED, STOP_SIGNALS, supervisor_command
from nakama_py.wire.fast_lane import FAST_LANE
from nakama_py.wire.timeouts import AIOHTTP_KEEPALIVE_SEC, TimedSockSite, Timeouts
from nakama_py.worker_spec import WorkerSpec, read_spec, write_spec

if TYPE_CHECKING:
    from nakama_py.supervisor import Settings

log = logging.getLogger("nakama_py.server")

PR_SET_PDEATHSIG = 1
DEFAULT_SHUTDOWN_WAIT_SEC = 30.0
DATABASE_WAIT_SEC = 15.0  # a server that does not answer yet may be starting (docker compose)
GC_THRESHOLD = 50_000  # young-generation allocations between collections (Python's default: 700)


class StartupError(Exception):
    pass


class ReportedStartupError(StartupError):
    """A start-up failure already logged in full where it happened (e.g. a broken runtime module)."""



def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _bound(host: str, port: int, key: str, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to ``host:port``; a StartupError naming the config ``key`` when it cannot be."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"{key} {port} on {host} is already in use") from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def bind_socket(config: Config, *, reuse_port: bool) -> socket.socket:
    host = config.socket.address or ("::" if config.socket.protocol == "tcp6" else "0.0.0.0")
    sock = _bound(host, config.socket.port, "socket.port", reuse_port=reuse_port)
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def tls_context(config: Config) -> ssl.SSLContext | None:
    """Nakama's direct TLS on socket.port (HTTP and the socket as wss) from socket.ssl_certificate and
    socket.ssl_private_key (PEM files); None without them. The console and metrics ports stay plain,
    as in Nakama."""
    certificate, key = config.socket.ssl_certificate, config.socket.ssl_private_key
    if not certificate:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certificate, key)
    except FileNotFoundError as exc:
        raise StartupError(f"socket.ssl_certificate: cannot read {exc.filename}") from None
    except (ssl.SSLError, OSError) as exc:
        raise StartupError(f"socket.ssl_certificate: cannot load the certificate and key: {exc}") from None
    return context


def http_timeouts(config: Config) -> Timeouts:
    """Nakama's socket.read_timeout_ms, write_timeout_ms and idle_timeout_ms for the HTTP server."""
    socket_config = config.socket
    return Timeouts(read_sec=socket_config.read_timeout_ms / 1000, write_sec=socket_config.write_timeout_ms / 1000,
                    idle_sec=socket_config.idle_timeout_ms / 1000)


def shutdown_wait(config: Config) -> float:
    return float(config.shutdown_grace_sec) if config.shutdown_grace_sec > 0 else DEFAULT_SHUTDOWN_WAIT_SEC


# --- one server process ------------------------------------------------------


async def run_worker(config: Config, conninfo: str, sock: socket.socket, *, metrics: Metrics | None = None,
                     ready: threading.Event | None = None, marks: WriteMarks | None = None,
                     console: str | None = "the only server process") -> None:
    """Serve until SIGTERM/SIGINT, then finish in-flight requests and close everything.

    ``console``: this process also serves the web console (described so in its Status page)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        state = await build_state(config, conninfo, metrics=metrics, marks=marks)
    except RuntimeLoadError as exc:
        raise ReportedStartupError(exc.summary) from None
    timeouts = http_timeouts(config)
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False,
                           shutdown_timeout=shutdown_wait(config), keepalive_timeout=AIOHTTP_KEEPALIVE_SEC)
    metrics_runner: web.AppRunner | None = None
    console_runner: web.AppRunner | None = None
    watch = LoopWatch(state.metrics, samplers=[lambda: _pool_gauges(state)])
    try:
        await runner.setup()
        # Everything built so far lives as long as the process: keep the garbage collector off it,
        # and collect less often (request garbage is mostly freed by reference counting).
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, 50, 100)
        # Every other port first: a port already in use stops the start before /healthcheck ever
        # answers, so no load balancer (or test) takes a process that is about to exit for a ready one.
        if config.metrics.prometheus_port and metrics is None:
            metrics_runner = await _serve_metrics(state.metrics, config)
        if console is not None:
            console_runner = await _serve_console(state, config, console)
        await TimedSockSite(runner, sock, timeouts, ssl_context=tls_context(config)).start()
        watch.start()  # after start-up's own long steps (ranks warm-up, gc.freeze)
        log.info("server ready", extra={"fields": {
            "port": config.socket.port, "pid": os.getpid(), "version": __version__}})
        flush_logs()
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("shutting down", extra={"fields": {"pid": os.getpid()}})
        # As Nakama: matches first (match_terminate with the grace period), while their players' sockets are open.
        await state.matches.registry.stop(config.shutdown_grace_sec)
    finally:
        watch.stop()
        if console_runner is not None:
            await console_runner.cleanup()
        lane = runner.app.get(FAST_LANE)
        if lane is not None:
            await lane.drain(shutdown_wait(config))  # the requests the lane serves, which aiohttp cannot see
        await runner.cleanup()  # stops accepting, waits for in-flight requests
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await state.close()
        flush_logs()


def _pool_gauges(state: ServerState) -> None:
    stats = state.db.pool.get_stats()
    state.metrics.db_connections.set(stats.get("pool_size", 0))
    state.metrics.db_waiting.set(stats.get("requests_waiting", 0))


async def _serve_console(state: ServerState, config: Config, role: str) -> web.AppRunner:
    host = config.console.address or config.socket.address or "0.0.0.0"
    try:
        runner = await start_console(state, host, process_role=role)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"console.port {config.console.port} on {host} is already in use") from None
        raise StartupError(f"cannot listen on {host}:{config.console.port}: {exc.strerror}") from None
    log.info("console ready", extra={"fields": {"port": config.console.port, "address": host}})
    return runner


async def _serve_metrics(metrics: Metrics, config: Config) -> web.AppRunner:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/metrics", handler)
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, config.socket.address or "0.0.0.0", config.metrics.prometheus_port).start()
    return runner


# --- the supervisor for several processes -------------------------------------


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _worker_main(config: Config, conninfo: str, index: int, region: MarkRegion) -> None:
    """The body of a worker process (forked, or started by ``nakama-py _worker``); never returns."""
    code = 0
    try:
        _die_with_parent()
        marks = WriteMarks(region, index)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by supervise() around the fork
        if config.metrics.prometheus_port:
            enable_multiprocess(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
        sock = bind_socket(config, reuse_port=True)
        metrics = Metrics(config.metrics.prefix, config.metrics.custom_prefix)
        _install_uvloop()
        # Worker 0 serves the console: it holds every core service (the supervisor has none), and one
        # process per node is enough for operators; a restarted worker 0 serves it again.
        console = "worker 0 of " + str(config.workers) if index == 0 else None
        asyncio.run(run_worker(config, conninfo, sock, metrics=metrics, marks=marks, console=console))
    except ReportedStartupError:
        code = EXIT_STARTUP_FAILED
    except StartupError as exc:
        log.error(str(exc), extra={"fields": {"worker": index}})
        code = EXIT_STARTUP_FAILED
    except Exception:
        log.exception("worker failed", extra={"fields": {"worker": index}})
        code = 1
    finally:
        flush_logs()
        os._exit(code)


def restarted_worker(index: int, spec_fd: int) -> None:
    """``nakama-py _worker INDEX SPEC_FD``: a worker the supervisor (re)started as a fresh interpreter;
    never returns."""
    spec = read_spec(spec_fd)
    setup_logging(spec.config.logger, secrets=spec.config.secret_values())
    _worker_main(spec.config, spec.conninfo, index, MarkRegion(spec.workers, spec.region_fd))


def bind_metrics(config: Config) -> socket.socket:
    """The listening socket of metrics.prometheus_port, bound before the workers start (an address in
    use stops the start); the supervisor program answers on it."""
    sock = _bound(config.socket.address or "0.0.0.0", config.metrics.prometheus_port, "metrics.prometheus_port")
    sock.listen(16)
    return sock


def _package_environment() -> dict[str, str]:
    """This environment, with the directory holding nakama_py on PYTHONPATH when a fresh interpreter
    started in the same directory would not find it otherwise (the supervisor's restarted workers run
    ``python -m nakama_py``)."""
    env = dict(os.environ)
    root = os.path.realpath(Path(__file__).resolve().parent.parent)
    reachable = {os.path.realpath(entry or os.getcwd()) for entry in sys.path[1:]} | {os.path.realpath(os.getcwd())}
    if root not in reachable:
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))])
    return env


def supervise(config: Config, conninfo: str, workers: int, *, database_pid: int = 0) -> int:
    """Fork the workers, then become the supervisor program (``supervisor.py``) in this same process.
    Returns only when that cannot be started (the workers are stopped then)."""
    # Fail fast (and do not share the port with a stranger) if it is taken.
    bind_socket(config, reuse_port=False).close()
    metrics_fd = -1
    if config.metrics.prometheus_port:
        directory = config.data_path / "run" / f"metrics-{os.getpid()}"
        clear_multiprocess_dir(directory)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        metrics_fd = bind_metrics(config).detach()
        os.set_inheritable(metrics_fd, True)

    if config.cluster.nats_url:  # imported on use only: here, before forking, so the workers share it
        import nakama_py.cluster.jetstream_log
        import nakama_py.cluster.nats_bus  # noqa: F401
    region = MarkRegion(workers)  # a memfd: the forked workers share it, a restarted one maps it again
    spec_fd = write_spec(WorkerSpec(config, conninfo, workers, region.fd))
    # A stop signal from here to the supervisor program's handlers stays pending (the mask survives exec).
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    # What is imported so far (the whole package) lives as long as the workers: out of the collector's
    # reach, a worker's collections no longer write to those objects' pages, which stay shared between
    # the workers instead of being copied into every one (docs/performance.md). prepare_heap: the
    # workers' first allocations go to pages of their own, not to the free space of shared ones.
    gc.collect()
    prepare_heap()
    gc.freeze()

    def start(index: int) -> int:
        flush_logs()
        pid = os.fork()
        if pid == 0:
            _worker_main(config, conninfo, index, region)
        return pid

    pids = [start(i) for i in range(workers)]
    log.info("supervising workers", extra={"fields": {"workers": workers, "pids": sorted(pids)}})
    settings: Settings = {
        "workers": pids, "spec_fd": spec_fd, "metrics_fd": metrics_fd, "database_pid": database_pid,
        "shutdown_wait": shutdown_wait(config),
        "logger": {"level": config.logger.level, "stdout": config.logger.stdout, "file": config.logger.file,
                   "format": config.logger.format},
    }
    flush_logs()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        command = supervisor_command(settings)
        os.execve(command[0], command, _package_environment())
    except OSError as exc:
        log.error("cannot start the supervisor program; stopping", extra={"fields": {"error": str(exc)}})
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    return 1


# --- serve -----------------------------------------------------------------------


async def apply_migrations(conninfo: str) -> list[str]:
    db = Database(conninfo, min_size=1, max_size=2, name="nakama-py-migrate")
    await db.connect()
    try:
        return await migrate_up(db)
    finally:
        await db.close()


def resolve_database(config: Config) -> tuple[str, EmbeddedPostgres | None]:
    """The connection string to use, starting the embedded database when none is configured."""
    if config.database.address:
        return to_conninfo(config.database.address[0]), None
    embedded = EmbeddedPostgres(config.data_path)
    return embedded.start(), embedded


def check_production(config: Config) -> None:
    """Production mode refuses weak secrets in one message naming every one of them."""
    if not config.production:
        return
    problems = config.weak_secrets()
    if problems:
        raise StartupError("production mode: refusing to start: " + "; ".join(problems)
                           + ". Set a secret of your own for each.")


def serve(config: Config, *, migrate: bool = True) -> int:
    check_production(config)
    if tls_context(config) is not None:  # a bad certificate stops the start, before any worker
        log.warning("direct TLS on socket.port is enabled: an SSL-capable proxy or load balancer is the"
                    " recommended setup for production",
                    extra={"fields": {"certificate": config.socket.ssl_certificate}})
    for key in config.default_secrets():
        log.warning(f"{key} is the published default: set a secret of your own before going live",
                    extra={"fields": {"key": key}})
    for section in config.unsupported_sections():
        log.warning(f"the '{section}' section is not implemented by nakama-py and is ignored")
    started = time.monotonic()
    serving = False
    try:
        conninfo, embedded = resolve_database(config)
    except (EmbeddedError, AddressError) as exc:
        raise StartupError(f"database: {exc}") from None
    try:
        log.info("database", extra={"fields": {"address": describe(conninfo), "embedded": embedded is not None}})
        host_warning = scheduling_warning(conninfo)
        if host_warning is not None:
            log.warning(host_warning)
        try:
            wait_for_database(conninfo, DATABASE_WAIT_SEC)
        except DatabaseUnreachable as exc:
            raise StartupError(str(exc)) from None
        if migrate:
            # Migrations hold an advisory lock: on a direct connection, not through pgbouncer.
            applied = asyncio.run(apply_migrations(session_conninfo(config.database.session_address, conninfo)))
            if applied:
                log.info("migrations applied", extra={"fields": {"migrations": applied}})
        log.info("start-up prepared", extra={"fields": {"seconds": round(time.monotonic() - started, 3)}})
        workers = config.workers
        serving = True
        if workers <= 1:
            sock = bind_socket(config, reuse_port=False)
            _install_uvloop()
            asyncio.run(run_worker(config, conninfo, sock))
            return 0
        return supervise(config, conninfo, workers, database_pid=(embedded.pid or 0) if embedded is not None else 0)
    finally:
        if embedded is not None:
            embedded.stop()
        if serving:  # the last line of a run, after the database: nothing is left running
            log.info("stopped", extra={"fields": {"pid": os.getpid()}})
        flush_logs()
