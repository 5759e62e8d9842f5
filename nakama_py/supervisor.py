"""The supervisor of a server's worker processes (``socket.workers`` > 1), as a program of its own.

``serve`` imports the whole package, forks the workers (they share its memory pages), then replaces
itself with this program (``os.execve``: the same pid, the same children, the same open descriptors),
which imports the standard library and ``nakama_py.logs`` only: the supervisor no longer holds a copy of
the package (docs/performance.md "Memory"). It

- restarts a worker that dies, as a fresh interpreter (``nakama-py _worker INDEX SPEC_FD``: the worker
  reads its configuration from the inherited spec memfd, ``worker_spec.py``); a worker that cannot start
  (``EXIT_STARTUP_FAILED``) stops the server with exit code 1, and so do more than 5 restarts per worker
  within a minute;
- serves the workers' summed Prometheus metrics on ``metrics.prometheus_port`` (a listening socket
  ``serve`` bound): each scrape is answered by a short-lived child (``metrics_endpoint.py``), so
  prometheus-client is never imported here;
- on SIGTERM/SIGINT stops the workers (SIGKILL past the shutdown wait), then the embedded database,
  and logs "stopped" last.

``python -m nakama_py.supervisor SETTINGS``: one JSON argument (``Settings``); no secret is in it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

from nakama_py.logs import flush_logs, setup_logging

log = logging.getLogger("nakama_py.server")

# A worker that cannot start exits with this code: restarting it would fail the same way.
EXIT_STARTUP_FAILED = 3
RESTARTS_PER_WORKER_A_MINUTE = 5
POLL_SEC = 0.2  # the signal handler only sets a flag; look at it (and at the children) this often
RESTART_DELAY_SEC = 0.5
SCRAPE_TIMEOUT_SEC = 10.0
# As the embedded database's own stop (db/embedded.py): fast shutdown, then quit, then kill.
DATABASE_STOP_STEPS = ((signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 30.0))
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class LoggerSettings(NamedTuple):
    level: str
    stdout: bool
    file: str
    format: str


class Settings(NamedTuple):
    workers: list[int]  # the forked workers' pids, by worker index
    spec_fd: int  # the memfd a restarted worker reads (worker_spec.py)
    metrics_fd: int  # the listening socket of metrics.prometheus_port; -1 without one
    database_pid: int  # the embedded database's postmaster, stopped last; 0 without one
    shutdown_wait: float  # seconds a worker has to stop before SIGKILL (plus 10)
    logger: LoggerSettings

    def encode(self) -> str:
        return json.dumps({**self._asdict(), "logger": self.logger._asdict()})

    @classmethod
    def decode(cls, text: str) -> Settings:
        data = json.loads(text)
        return cls(**{**data, "logger": LoggerSettings(**data["logger"])})


def worker_command(index: int, spec_fd: int) -> list[str]:
    """A worker started as a fresh interpreter (a restart): the hidden ``_worker`` command."""
    return [sys.executable, "-m", "nakama_py", "_worker", str(index), str(spec_fd)]


def mark_process_dead(pid: int) -> None:
    """prometheus-client's ``multiprocess.mark_process_dead``: drop a dead process's live gauges."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        for path in glob.glob(os.path.join(directory, f"gauge_live*_{pid}.db")):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


def _answer_scrape(listener: socket.socket) -> None:
    """One connection to the metrics port, answered in a child process (which exits after it)."""
    try:
        conn, address = listener.accept()
    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
        return
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C in the terminal is the supervisor's to handle
            conn.settimeout(SCRAPE_TIMEOUT_SEC)
            from nakama_py.metrics_endpoint import answer

            answer(conn, address)
        except BaseException:  # the child must never return into the supervisor's loop
            code = 1
        finally:
            os._exit(code)
    conn.close()


class Supervisor:
    def __init__(self, settings: Settings, *, spawn: Callable[[int], int] | None = None) -> None:
        self.settings = settings
        self.children = {pid: index for index, pid in enumerate(settings.workers)}
        self.database_pid = settings.database_pid
        self.stopping = False
        self._spawn = spawn or self._spawn_worker
        self._listener: socket.socket | None = None
        if settings.metrics_fd >= 0:
            self._listener = socket.socket(fileno=settings.metrics_fd)
            self._listener.setblocking(False)

    def _spawn_worker(self, index: int) -> int:
        flush_logs()
        return os.posix_spawn(sys.executable, worker_command(index, self.settings.spec_fd), os.environ)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def _idle(self, seconds: float) -> None:
        """Wait ``seconds``, answering scrapes meanwhile."""
        if self._listener is None:
            time.sleep(seconds)
            return
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0 and not self.stopping:
            readable, _, _ = select.select([self._listener], [], [], remaining)
            if readable:
                _answer_scrape(self._listener)

    def _reaped(self, pid: int) -> int | None:
        """The worker index of a child just reaped (None for the database or a scrape's child)."""
        if pid == self.database_pid:
            self.database_pid = 0  # gone already: nothing to stop at the end
        return self.children.pop(pid, None)

    def run(self) -> int:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # serve blocked them across the exec
        exit_code = 0
        try:
            exit_code = self._supervise()
            self._stop_workers()
        finally:
            if self._listener is not None:
                self._listener.close()
            self._stop_database()
            log.info("stopped", extra={"fields": {"pid": os.getpid()}})
            flush_logs()
        return exit_code

    def _supervise(self) -> int:
        workers = len(self.settings.workers)
        restarts: list[float] = []
        while self.children and not self.stopping:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                self._idle(POLL_SEC)
                continue
            index = self._reaped(pid)
            if index is None:
                continue
            mark_process_dead(pid)
            if self.stopping:
                break
            code = os.waitstatus_to_exitcode(status)
            if code == EXIT_STARTUP_FAILED:
                log.error("a worker could not start; stopping", extra={"fields": {"worker": index}})
                return 1
            log.error("worker exited; restarting it", extra={"fields": {
                "worker": index, "pid": pid, "status": code}})
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < 60] + [now]
            if len(restarts) > RESTARTS_PER_WORKER_A_MINUTE * workers:
                log.error("workers keep dying; giving up")
                return 1
            self._idle(RESTART_DELAY_SEC)
            self.children[self._spawn(index)] = index
        return 0

    def _stop_workers(self) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.shutdown_wait + 10
        while self.children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
                continue
            if self._reaped(pid) is not None:
                mark_process_dead(pid)
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _stop_database(self) -> None:
        pid = self.database_pid
        if not pid:
            return
        log.info("stopping the embedded database")
        for sig, wait in DATABASE_STOP_STEPS:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    return
                if done:
                    return
                time.sleep(0.05)


def main(argv: list[str]) -> int:
    settings = Settings.decode(argv[0])
    setup_logging(settings.logger)
    return Supervisor(settings).run()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
