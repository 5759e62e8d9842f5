"""The supervisor of a server's worker processes (``socket.workers`` > 1), as a program of its own.

``serve`` imports the whole package, forks the workers (they share its memory pages), then replaces
itself with this program (``os.execve``: the same pid, the same children, the same open descriptors):
``python -S .../nakama_py/supervisor.py SETTINGS``, a few modules of the standard library and no
``site``, so the supervisor holds no copy of the package (about 4 MB of its own; docs/performance.md
"Memory"). It imports only modules built into the interpreter (``_signal`` and ``_socket`` rather than
their wrappers, which pull in ``enum``; ``json`` only to write a JSON log line): each pure-Python module
is memory the supervisor holds for the server's whole life. It

- restarts a worker that dies, as a fresh interpreter (``nakama-py _worker INDEX SPEC_FD``: the worker
  reads its configuration from the inherited spec memfd, ``worker_spec.py``); a worker that cannot start
  (``EXIT_STARTUP_FAILED``) stops the server with exit code 1, and so do more than 5 restarts per worker
  within a minute;
- serves the workers' summed Prometheus metrics on ``metrics.prometheus_port`` (a listening socket
  ``serve`` bound): each scrape is answered by a short-lived child (``metrics_endpoint.py``), so
  prometheus-client is never imported here;
- on SIGTERM/SIGINT stops the workers (SIGKILL past the shutdown wait), then the embedded database,
  and logs "stopped" last.

Run as a script, it imports nothing of nakama_py: its few log lines are written here in the format of
``logs.py`` (tests/unit/test_supervisor_settings.py compares the two). ``SETTINGS`` is a few
``key=value`` words (``Settings``, ``settings_words``); no secret is in them.
"""

# ruff: noqa: SIM105 - try/except/pass rather than contextlib.suppress: one module less to hold

from __future__ import annotations

import _socket
import os
import select
import sys
import time

TYPE_CHECKING = False  # not typing's: importing typing costs the supervisor about 1.5 MB
if TYPE_CHECKING:
    import signal as _signal  # the same functions and numbers; typeshed has no stub of _signal
else:
    import _signal
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Any, TypedDict

    class LoggerSettings(TypedDict):
        level: str  # debug, info, warn, error
        stdout: bool
        file: str
        format: str  # json, text

    class Settings(TypedDict):
        workers: list[int]  # the forked workers' pids, by worker index
        spec_fd: int  # the memfd a restarted worker reads (worker_spec.py)
        metrics_fd: int  # the listening socket of metrics.prometheus_port; -1 without one
        database_pid: int  # the embedded database's postmaster, stopped last; 0 without one
        shutdown_wait: float  # seconds a worker has to stop before SIGKILL (plus 10)
        logger: LoggerSettings

PROGRAM = os.path.abspath(__file__)
SERVER_LOGGER = "nakama_py.server"
DATABASE_LOGGER = "nakama_py.embedded"  # as db/embedded.py

# A worker that cannot start exits with this code: restarting it would fail the same way.
EXIT_STARTUP_FAILED = 3
RESTARTS_PER_WORKER_A_MINUTE = 5
POLL_SEC = 0.2  # the signal handler only sets a flag; look at it (and at the children) this often
RESTART_DELAY_SEC = 0.5
SCRAPE_TIMEOUT_SEC = 10.0
# As the embedded database's own stop (db/embedded.py): fast shutdown, then quit, then kill.
DATABASE_STOP_STEPS = ((_signal.SIGINT, 30.0), (_signal.SIGQUIT, 10.0), (_signal.SIGKILL, 30.0))
STOP_SIGNALS = {_signal.SIGTERM, _signal.SIGINT}
# prometheus-client's live gauge modes (multiprocess._LIVE_GAUGE_MULTIPROCESS_MODES)
LIVE_GAUGE_MODES = ("liveall", "livemin", "livemax", "livesum", "livemostrecent")
_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}


def supervisor_command(settings: Settings) -> list[str]:
    """The command ``serve`` execs into once the workers are forked."""
    return [sys.executable, "-S", PROGRAM, *settings_words(settings)]


def settings_words(settings: Settings) -> list[str]:
    """``Settings`` as ``key=value`` arguments: readable in ``ps``, read back without importing ``json``."""
    logger = settings["logger"]
    return [f"workers={','.join(map(str, settings['workers']))}", f"spec_fd={settings['spec_fd']}",
            f"metrics_fd={settings['metrics_fd']}", f"database_pid={settings['database_pid']}",
            f"shutdown_wait={settings['shutdown_wait']!r}", f"logger.level={logger['level']}",
            f"logger.stdout={int(logger['stdout'])}", f"logger.format={logger['format']}",
            f"logger.file={logger['file']}"]  # last: a path may hold any character but NUL


def read_settings(words: list[str]) -> Settings:
    """The inverse of ``settings_words``."""
    given = dict(word.split("=", 1) for word in words)
    return {"workers": [int(pid) for pid in given["workers"].split(",") if pid],
            "spec_fd": int(given["spec_fd"]), "metrics_fd": int(given["metrics_fd"]),
            "database_pid": int(given["database_pid"]), "shutdown_wait": float(given["shutdown_wait"]),
            "logger": {"level": given["logger.level"], "stdout": given["logger.stdout"] == "1",
                       "file": given["logger.file"], "format": given["logger.format"]}}


def worker_command(index: int, spec_fd: int) -> list[str]:
    """A worker started as a fresh interpreter (a restart): the hidden ``_worker`` command."""
    return [sys.executable, "-m", "nakama_py", "_worker", str(index), str(spec_fd)]


def mark_process_dead(pid: int) -> None:
    """prometheus-client's ``multiprocess.mark_process_dead``: drop a dead process's live gauges."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    for mode in LIVE_GAUGE_MODES:
        try:
            os.remove(os.path.join(directory, f"gauge_{mode}_{pid}.db"))
        except FileNotFoundError:
            pass


# --- log lines -----------------------------------------------------------------------------------


def _stamp(created: float) -> str:
    """logs.py's timestamp: UTC, milliseconds, Z."""
    micros = round(created * 1_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros // 1000:03d}Z"


def format_line(level: str, logger: str, message: str, fields: dict[str, Any], created: float, *,
                json_format: bool) -> str:
    """One line as logs.JsonFormatter or logs.TextFormatter writes it."""
    if json_format:
        import json  # only once a line is written: at the end ("stopped") or when a worker dies

        data = {"level": level, "ts": _stamp(created), "logger": logger, "msg": message, **fields}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    line = f"{_stamp(created)} {level.upper():5} {logger}: {message}"
    if fields:
        line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
    return line


class Log:
    """The supervisor's lines, to logger.stdout and logger.file, at logger.level and above."""

    def __init__(self, settings: LoggerSettings) -> None:
        self.level = _LEVELS[settings["level"]]
        self.json = settings["format"] == "json"
        self.targets: list[IO[str]] = [sys.stdout] if settings["stdout"] else []
        if settings["file"]:
            self.targets.append(open(settings["file"], "a", encoding="utf-8"))  # noqa: SIM115 - for the process

    def __call__(self, level: str, message: str, fields: dict[str, Any] | None = None, *,
                 logger: str = SERVER_LOGGER) -> None:
        if _LEVELS[level] < self.level:
            return
        line = format_line(level, logger, message, fields or {}, time.time(), json_format=self.json) + "\n"
        for target in self.targets:
            try:
                target.write(line)
                target.flush()
            except (OSError, ValueError):
                pass


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


# --- metrics ---------------------------------------------------------------------------------------


def _answer_scrape(listener: _socket.socket) -> None:
    """One connection to the metrics port, answered in a child process (which exits after it)."""
    try:
        conn_fd, address = listener._accept()  # type: ignore[attr-defined]  # _socket's accept: (fd, address)
    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
        return
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
            _signal.signal(_signal.SIGINT, _signal.SIG_IGN)  # a ^C in the terminal is the supervisor's to handle
            from socket import socket

            conn = socket(fileno=conn_fd)
            conn.settimeout(SCRAPE_TIMEOUT_SEC)
            import site

            site.main()  # this program runs without site: prometheus-client is in site-packages
            sys.path.insert(0, os.path.dirname(os.path.dirname(PROGRAM)))
            from nakama_py.metrics_endpoint import answer

            answer(conn, address)
        except BaseException:  # the child must never return into the supervisor's loop
            code = 1
        finally:
            os._exit(code)
    os.close(conn_fd)


# --- the supervisor ----------------------------------------------------------------------------------


class Supervisor:
    def __init__(self, settings: Settings, log: Log, *, spawn: Callable[[int], int] | None = None) -> None:
        self.settings = settings
        self.log = log
        self.children = {pid: index for index, pid in enumerate(settings["workers"])}
        self.database_pid = settings["database_pid"]
        self.stopping = False
        self._spawn = spawn or self._spawn_worker
        self._listener: _socket.socket | None = None
        if settings["metrics_fd"] >= 0:
            self._listener = _socket.socket(fileno=settings["metrics_fd"])
            self._listener.setblocking(False)

    def _spawn_worker(self, index: int) -> int:
        flush_output()
        metrics_fd = self.settings["metrics_fd"]  # the supervisor's to answer on, not the worker's to hold
        close = [(os.POSIX_SPAWN_CLOSE, metrics_fd)] if metrics_fd >= 0 else []
        return os.posix_spawn(sys.executable, worker_command(index, self.settings["spec_fd"]), os.environ,
                              file_actions=close)

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
            _signal.signal(sig, self._on_signal)
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, STOP_SIGNALS)  # serve blocked them across the exec
        exit_code = 0
        try:
            exit_code = self._supervise()
            self._stop_workers()
        finally:
            if self._listener is not None:
                self._listener.close()
            self._stop_database()
            self.log("info", "stopped", {"pid": os.getpid()})
            flush_output()
        return exit_code

    def _supervise(self) -> int:
        workers = len(self.settings["workers"])
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
                self.log("error", "a worker could not start; stopping", {"worker": index})
                return 1
            self.log("error", "worker exited; restarting it", {"worker": index, "pid": pid, "status": code})
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < 60] + [now]
            if len(restarts) > RESTARTS_PER_WORKER_A_MINUTE * workers:
                self.log("error", "workers keep dying; giving up")
                return 1
            self._idle(RESTART_DELAY_SEC)
            self.children[self._spawn(index)] = index
        return 0

    def _stop_workers(self) -> None:
        self._signal_workers(_signal.SIGTERM)
        deadline = time.monotonic() + self.settings["shutdown_wait"] + 10
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
        self._signal_workers(_signal.SIGKILL)

    def _signal_workers(self, signum: int) -> None:
        for pid in self.children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def _stop_database(self) -> None:
        pid = self.database_pid
        if not pid:
            return
        self.log("info", "stopping the embedded database", logger=DATABASE_LOGGER)
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
    settings = read_settings(argv)
    return Supervisor(settings, Log(settings["logger"])).run()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
