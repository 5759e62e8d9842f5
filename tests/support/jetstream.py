"""A nats-server with JetStream of a test's own (free port, its own store), never the shared one: started,
stopped and restarted by PID with its stored streams intact."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.support.ports import free_port, listening

NATS_SERVER = "/usr/sbin/nats-server"


class PrivateJetStream:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.directory = directory
        self.store = directory / "jetstream"
        self.log = directory / "nats.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                                         "-sd", str(self.store)], stdout=subprocess.DEVNULL,
                                        stderr=self.log.open("ab"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if listening(self.port):
                return
            time.sleep(0.05)
        raise AssertionError(f"nats-server did not start; see {self.log}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
