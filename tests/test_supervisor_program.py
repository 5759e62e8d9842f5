"""With several workers, the supervisor is a small program of its own once the workers are forked
(nakama_py/supervisor.py): it holds no copy of the package, restarts a dead worker as a fresh interpreter
that serves again, answers the summed metrics, stops with exit code 0 on SIGTERM, and its workers die
with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from nakama_py.bench.server_probe import find_server
from nakama_py.supervisor import PROGRAM, read_settings
from tests.faults.processes import children
from tests.support.ports import free_port
from tests.support.server import ServerProcess, start_server

if TYPE_CHECKING:
    from nakama_py.supervisor import Settings

# The supervisor that imported the whole package had 75 MB resident; the small program has about 15.
SUPERVISOR_MAX_RSS_KIB = 30 * 1024
HEAVY_LIBRARIES = ("pydantic_core", "psycopg", "uvloop", "aiohttp", "_upb")


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            return int(line.split()[1])
    raise AssertionError("no Rss line")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"the condition of line {condition.__code__.co_firstlineno} not met in {timeout} s")


def answers(url: str) -> bool:
    try:
        return get(url)[0] < 500
    except OSError:
        return False


def start(tmp_path: Path, database_url: str, metrics_port: int, console_port: int) -> ServerProcess:
    return start_server(tmp_path, database_url, "--socket.workers", "2", "--metrics.prometheus_port",
                        str(metrics_port), "--console.port", str(console_port))


def is_supervisor_program(pid: int) -> bool:
    return cmdline(pid)[1:3] == ["-S", PROGRAM]


def settings_of(server: ServerProcess) -> Settings:
    argv = cmdline(server.process.pid)
    assert argv[1:3] == ["-S", PROGRAM]
    return read_settings(argv[3:])


@pytest.mark.slow
def test_the_supervisor_program_imports_no_pure_python_module_of_the_standard_library() -> None:
    # Each module it imports is memory it holds for the server's whole life; ``json`` waits for a log line.
    run = subprocess.run([sys.executable, "-S", "-X", "importtime", PROGRAM], capture_output=True, text=True,
                         timeout=30, check=False)
    assert run.returncode != 0 and "KeyError" in run.stderr  # it read its (missing) settings: past its imports
    imported = {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert {"_socket", "select"} <= imported
    assert not imported & {"enum", "re", "json", "typing", "contextlib", "socket", "signal", "functools"}


def test_the_supervisor_is_small_and_a_killed_worker_comes_back_and_serves(tmp_path: Path,
                                                                           database_url: str) -> None:
    metrics_port, console_port = free_port(), free_port()
    server = start(tmp_path, database_url, metrics_port, console_port)
    try:
        pid = server.process.pid
        until(lambda: is_supervisor_program(pid), 10)
        settings = settings_of(server)
        assert sorted(settings["workers"]) == sorted(children(pid))
        assert sorted(find_server("127.0.0.1", server.port)) == sorted([pid, *settings["workers"]])  # bench's probe
        assert rss_kib(pid) < SUPERVISOR_MAX_RSS_KIB
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert not [name for name in HEAVY_LIBRARIES if name in maps]

        status, body = get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200 and "nakama_cluster_processes" in body
        until(lambda: sorted(children(pid)) == sorted(settings["workers"]), 10)  # the scrape's child is gone

        # Worker 0 (the one serving the console) dies; a fresh interpreter takes its place and serves.
        first, second = settings["workers"]
        os.kill(first, signal.SIGKILL)
        until(lambda: first not in children(pid) and len(children(pid)) == 2)
        restarted = next(child for child in children(pid) if child != second)
        assert cmdline(restarted)[-3:-1] == ["_worker", "0"]
        until(lambda: answers(f"http://127.0.0.1:{console_port}/"))
        for _ in range(20):  # new connections, spread by the kernel over both workers
            assert get(server.url + "/healthcheck")[0] == 200
        assert '"msg":"worker exited; restarting it"' in server.log()
        assert server.log().count('"msg":"console ready"') == 2
        metrics_dir = next((tmp_path / "data" / "run").glob(f"metrics-{pid}"))
        assert not list(metrics_dir.glob(f"gauge_live*_{first}.db"))  # the dead worker's live gauges
        status, body = get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200 and "nakama_cluster_processes" in body

        assert server.stop(signal.SIGTERM) == 0
        assert not children(pid)
        lines = server.log().strip().splitlines()
        assert '"msg":"stopped"' in lines[-1]
        assert sum('"msg":"shutting down"' in line for line in lines) == 2
    finally:
        server.stop(signal.SIGKILL)


def test_a_killed_supervisor_takes_its_workers_down_the_restarted_one_too(tmp_path: Path,
                                                                          database_url: str) -> None:
    server = start(tmp_path, database_url, free_port(), free_port())
    try:
        pid = server.process.pid
        until(lambda: is_supervisor_program(pid), 10)
        first, second = settings_of(server)["workers"]
        os.kill(second, signal.SIGKILL)
        until(lambda: second not in children(pid) and len(children(pid)) == 2)
        restarted = next(child for child in children(pid) if child != first)
        until(lambda: server.log().count('"msg":"server ready"') == 3)
        os.kill(pid, signal.SIGKILL)
        server.process.wait()
        # The death signal is SIGTERM: each worker stops gracefully, within the shutdown wait (30 s).
        until(lambda: not any(Path(f"/proc/{worker}").exists() and "Z" not in _state(worker)
                              for worker in (first, restarted)), 45)
    finally:
        server.stop(signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_a_worker_that_cannot_start_stops_the_server_with_exit_code_1(tmp_path: Path, database_url: str) -> None:
    modules = tmp_path / "broken_modules"
    modules.mkdir()
    (modules / "broken.py").write_text("raise RuntimeError('this module cannot load')\n")
    server = start_server(tmp_path, database_url, "--socket.workers", "2", "--runtime.path", str(modules),
                          wait=False)
    try:
        assert server.process.wait(60) == 1
        lines = server.log().strip().splitlines()
        assert any('"msg":"a worker could not start; stopping"' in line for line in lines)
        assert '"msg":"stopped"' in lines[-1]
    finally:
        server.stop(signal.SIGKILL)


def test_workers_that_keep_dying_stop_the_server_with_exit_code_1(tmp_path: Path, database_url: str) -> None:
    server = start(tmp_path, database_url, free_port(), free_port())
    try:
        pid = server.process.pid
        until(lambda: is_supervisor_program(pid), 10)
        killed: set[int] = set()
        deadline = time.monotonic() + 60
        while server.process.poll() is None and time.monotonic() < deadline:
            for child in set(children(pid)) - killed:  # every worker, restarted ones included, as it appears
                os.kill(child, signal.SIGKILL)
                killed.add(child)
            time.sleep(0.05)
        assert server.process.wait(10) == 1
        assert len(killed) >= 11
        log = server.log()
        # 5 restarts a minute per worker, 2 workers: the 11th death (logged as the others) gives up
        assert log.count('"msg":"worker exited; restarting it"') == 11
        assert '"msg":"workers keep dying; giving up"' in log
    finally:
        server.stop(signal.SIGKILL)
