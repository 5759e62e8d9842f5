"""Real ``nakama-py serve`` processes for tests that need a live server (clients, several processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_healthy(url: str, process: subprocess.Popen[bytes] | None, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/healthcheck", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not healthy within {timeout}s:\n{log_path.read_text()[-4000:]}")


def start_server(tmp: Path, database_url: str | None, *args: str, port: int | None = None,
                 timeout: float = 60, env: dict[str, str] | None = None, wait: bool = True) -> ServerProcess:
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    log_path = tmp / f"server-{port}-{time.monotonic_ns()}.log"
    argv = [sys.executable, "-m", "nakama_py", "serve", "--socket.port", str(port),
            "--socket.address", "127.0.0.1", "--data_dir", str(tmp / "data"), "--logger.level", "info"]
    if database_url:
        argv += ["--database.address", database_url]
    extra = list(args)
    if "--runtime.path" not in extra:
        # The repository's runtime_modules/ is only loaded by tests that ask for it.
        (tmp / "no_modules").mkdir(exist_ok=True)
        extra += ["--runtime.path", str(tmp / "no_modules")]
    if "--console.port" not in extra:
        extra += ["--console.port", str(free_port())]  # parallel test servers must not share 7351
    if "--database.max_open_conns" not in extra:
        extra += ["--database.max_open_conns", "10"]  # many test servers share one PostgreSQL
    argv += extra
    handle = open(log_path, "wb")  # noqa: SIM115 - the child writes to it
    process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO,
                               env={**os.environ, **(env or {})})
    handle.close()
    server = ServerProcess(port, process, log_path, argv)
    if wait:
        try:
            wait_healthy(server.url, process, timeout, log_path)
        except Exception:
            server.stop(signal.SIGKILL)
            raise
    return server
