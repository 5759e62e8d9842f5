"""The server under test: where it listens and the keys to call it with."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


class TargetError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    server_key: str = "defaultkey"
    http_key: str = "defaulthttpkey"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 80 else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host_header}"

    @classmethod
    def from_url(cls, url: str, server_key: str = "defaultkey", http_key: str = "defaulthttpkey") -> Target:
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme != "http":
            raise TargetError(f"--url must be http:// (the load generator speaks plain HTTP/1.1), got {url!r}")
        if not parts.hostname:
            raise TargetError(f"--url has no host: {url!r}")
        if parts.path not in ("", "/"):
            raise TargetError(f"--url must be the server's root, without a path: {url!r}")
        try:
            port = parts.port or 80
        except ValueError:
            raise TargetError(f"--url has a bad port: {url!r}") from None
        return cls(parts.hostname, port, server_key, http_key)
