"""Configuration: every key's effective value, secrets masked, and where the value came from."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from nakama_py.config import LEAVES, Config
from nakama_py.console.context import console_of, may, render
from nakama_py.core.console_users import Permission

routes = web.RouteTableDef()

# Keys whose values would let a reader act as the server, a client or an operator.
SECRET_KEYS = frozenset({
    "session.encryption_key", "session.refresh_encryption_key", "socket.server_key", "runtime.http_key",
    "console.password", "console.signing_key", "social.steam.publisher_key",
    "social.facebook_instant_game.app_secret", "database.address",
})
MASK = "********"


def _value(config: Config, path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        node = getattr(node, part)
    return node


def config_rows(config: Config) -> list[dict[str, str]]:
    rows = []
    for path, annotation in LEAVES.items():
        if getattr(annotation, "__origin__", None) is dict:
            continue  # the free-form sections nakama-py accepts but does not implement
        value = _value(config, path)
        if path in SECRET_KEYS and value:
            shown = MASK
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value)
        else:
            shown = str(value)
        rows.append({"key": path, "value": shown, "source": config.source_of(path)})
    return rows


@routes.get("/config")
async def configuration(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    config = console_of(request).state.config
    return render(request, "config.html", rows=config_rows(config),
                  default_secrets=config.default_secrets())
