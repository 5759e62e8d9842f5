"""``metrics.prometheus_port`` with several workers: the sum of every worker's metrics (prometheus-client's
multiprocess files), each connection answered by a short-lived child of the supervisor (``supervisor.py``),
which thereby never imports prometheus-client itself. HTTP/1.0 (one request a connection), any path, the
text exposition format: what the supervisor's ThreadingHTTPServer answered before."""

from __future__ import annotations

import contextlib
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any

from nakama_py.metrics import multiprocess_exposition


class MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = multiprocess_exposition()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def answer(conn: socket.socket, address: Any) -> None:
    """Serve one connection (as socketserver's servers do: handle, then shut the writing side)."""
    try:
        MetricsHandler(conn, address, None)  # type: ignore[arg-type]
    finally:
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)
        conn.close()
