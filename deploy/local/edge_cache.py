"""A caching proxy in front of nakama-py for the racing standings: nginx ``proxy_cache`` standing in for a
CDN edge (the design document's Tier 4). Everything else passes through uncached.

    python deploy/local/edge_cache.py --origin http://127.0.0.1:7350 --port 7380 --dir /tmp/edge

becomes nginx in the foreground (same PID; Ctrl-C or SIGTERM stops it). The standings route sets
its own ``Cache-Control``, ``ETag`` and ``Last-Modified`` (runtime_modules/racing/public_standings.py);
nginx follows them: one request fills a missing entry while the others wait (``proxy_cache_lock``), an expired entry is
revalidated with ``If-None-Match`` in the background while the stale copy is served
(``proxy_cache_background_update``, ``stale-while-revalidate``), and a finished cycle stays a day.
The access log (``edge-access.log``) has one line per request and per background update:
``<unix time> <cache status> <origin status or -> <uri> <status>``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
from pathlib import Path

NGINX_CONF = """\
user {user};  # the caller: the cache directory is theirs (ignored unless nginx starts as root)
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    log_format edge '$msec $upstream_cache_status $upstream_status $request_uri $status';
    access_log {dir}/edge-access.log edge;
    log_subrequest on;  # the background revalidations too: every request that reached the origin
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    proxy_cache_path {dir}/cache levels=1:2 keys_zone=standings:10m max_size=256m inactive=1d use_temp_path=off;
    upstream nakama {{
        server {origin};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /racing/standings {{
            proxy_pass http://nakama;
            proxy_cache standings;
            proxy_cache_lock on;
            proxy_cache_revalidate on;
            proxy_cache_background_update on;
            proxy_cache_use_stale updating error timeout http_500 http_502 http_503;
            # One cached body per URL, whatever the client accepts: ask the origin for it uncompressed and
            # ignore its Vary: Accept-Encoding (else each Accept-Encoding would be a variant fetched apart).
            proxy_set_header Accept-Encoding "";
            proxy_ignore_headers Vary;
            add_header X-Cache-Status $upstream_cache_status;
        }}
        location / {{
            proxy_pass http://nakama;
        }}
    }}
}}
"""


def write_config(directory: Path, origin: str, port: int) -> Path:
    """The nginx configuration for ``origin`` (``host:port``) served on 127.0.0.1:``port``."""
    (directory / "tmp").mkdir(parents=True, exist_ok=True)
    (directory / "cache").mkdir(exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=directory, origin=origin, port=port, user=getpass.getuser()))
    return conf


def nginx_command(directory: Path, origin: str, port: int) -> list[str]:
    conf = write_config(directory, origin, port)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return [nginx, "-c", str(conf), "-p", str(directory)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--origin", default="http://127.0.0.1:7350", help="the nakama-py server")
    parser.add_argument("--port", type=int, default=7380, help="the proxy's port on 127.0.0.1")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/nakama-py-edge"), help="config, cache and logs")
    args = parser.parse_args()
    origin = args.origin.removeprefix("http://").rstrip("/")
    print(f"edge cache on http://127.0.0.1:{args.port} -> {origin}; logs in {args.dir}", flush=True)
    command = nginx_command(args.dir, origin, args.port)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
