"""Direct TLS on socket.port (socket.ssl_certificate / socket.ssl_private_key, as in Nakama): HTTP and the
socket over wss with a self-signed certificate the test makes, through aiohttp and nakama-js (useSSL)."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.auth import basic, bearer
from tests.support.node import run_client
from tests.support.ports import free_port
from tests.support.server import REPO, ServerProcess, start_server


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, made by the openssl command line."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def wait_tls_healthy(server: ServerProcess, context: ssl.SSLContext, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited:\n{server.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{server.port}/healthcheck", timeout=1,
                                        context=context) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"no TLS healthcheck within {timeout}s:\n{server.log()[-3000:]}")


@pytest.fixture
def tls_server(tmp_path: Path, database_url: str) -> Iterator[tuple[ServerProcess, Path]]:
    cert, key = self_signed(tmp_path)
    # Two worker processes: each forked worker wraps its own listener in TLS.
    server = start_server(tmp_path, database_url, "--socket.ssl_certificate", str(cert),
                          "--socket.ssl_private_key", str(key), "--socket.workers", "2", wait=False)
    try:
        wait_tls_healthy(server, ssl.create_default_context(cafile=str(cert)))
    except Exception:
        server.stop()
        raise
    yield server, cert
    assert server.stop() == 0


async def test_http_and_wss_over_tls_with_aiohttp(tls_server: tuple[ServerProcess, Path]) -> None:
    server, cert = tls_server
    trusted = ssl.create_default_context(cafile=str(cert))
    base = f"https://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/v2/account/authenticate/custom", headers=basic(), ssl=trusted,
                                json={"id": f"tls-{uuid.uuid4().hex}"}) as response:
            assert response.status == 200
            token = (await response.json())["token"]
        async with session.get(f"{base}/v2/account", headers=bearer(token), ssl=trusted) as response:
            assert response.status == 200
        for _ in range(4):  # new connections, spread over both workers by the kernel
            socket = await session.ws_connect(f"wss://127.0.0.1:{server.port}/ws?token={token}", ssl=trusted)
            await socket.send_json({"cid": "1", "ping": {}})
            assert await socket.receive_json(timeout=10) == {"cid": "1", "pong": {}}
            await socket.close()
        # A client that does not trust the certificate is refused by its own TLS check.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(f"{base}/healthcheck")
        # Plain HTTP on the TLS port gets no HTTP answer.
        with pytest.raises(aiohttp.ClientError):
            await session.get(f"http://127.0.0.1:{server.port}/healthcheck")
    assert "direct TLS on socket.port is enabled" in server.log()


def test_nakama_js_with_use_ssl(tls_server: tuple[ServerProcess, Path]) -> None:
    server, cert = tls_server
    custom_id = f"tls-js-{uuid.uuid4().hex}"
    result = run_client("tls.mjs", server.port, env={"NODE_EXTRA_CA_CERTS": str(cert),
                                                       "NAKAMA_CUSTOM_ID": custom_id})
    assert result["userId"] and result["accountId"] == result["userId"]
    assert result["wrongKey"]["status"] == 401


def test_an_unreadable_certificate_stops_the_start(tmp_path: Path, database_url: str) -> None:
    _, key = self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    other_cert, _ = self_signed(tmp_path / "other")  # a certificate that does not go with the key
    for certificate, private_key, expected in (
            (tmp_path / "missing.pem", key, "cannot read"),
            (other_cert, key, "cannot load the certificate and key")):
        result = subprocess.run(
            [sys.executable, "-m", "nakama_py", "serve", "--socket.address", "127.0.0.1",
             "--socket.port", str(free_port()), "--console.port", str(free_port()),
             "--data_dir", str(tmp_path / "data"), "--database.address", database_url,
             "--socket.ssl_certificate", str(certificate), "--socket.ssl_private_key", str(private_key)],
            capture_output=True, text=True, timeout=60, cwd=REPO)
        assert result.returncode == 1
        assert f"socket.ssl_certificate: {expected}" in result.stdout + result.stderr
