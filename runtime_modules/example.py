"""An example runtime module: the smallest useful RPCs, also used by the test suite.

    curl -s "127.0.0.1:7350/v2/rpc/echo?http_key=defaulthttpkey&unwrap" -d '{"hello": "world"}'

RPCs:
  echo               returns the payload unchanged, byte for byte
  storage_roundtrip  stores the payload (a JSON object) for the caller and returns what was stored
  slow               sleeps {"ms": N} milliseconds, then answers {"slept_ms": N}
  error              raises NakamaError({"message": ..., "code": N})
"""

from __future__ import annotations

import asyncio
import json

from nakama_py.runtime import SYSTEM_USER_ID, Code, Context, Initializer, NakamaError, NakamaModule, RuntimeLogger

COLLECTION = "example"


def _object(payload: str) -> dict[str, object]:
    """The payload as a JSON object; a 400 for the client otherwise."""
    try:
        value = json.loads(payload or "{}")
    except ValueError:
        raise NakamaError("payload must be a JSON object", Code.INVALID_ARGUMENT) from None
    if not isinstance(value, dict):
        raise NakamaError("payload must be a JSON object", Code.INVALID_ARGUMENT)
    return value


async def echo(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    return payload


async def storage_roundtrip(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    value = _object(payload)
    owner = ctx.user_id or SYSTEM_USER_ID  # http-key calls have no user: the system owns the object
    acks = await nk.storage_write([{"collection": COLLECTION, "key": "roundtrip", "user_id": owner,
                                    "value": value, "permission_read": 1, "permission_write": 0}])
    stored = await nk.storage_read([{"collection": COLLECTION, "key": "roundtrip", "user_id": owner}])
    logger.debug("stored", owner=owner, version=acks[0].version)
    return nk.json_encode({"version": acks[0].version, "user_id": stored[0].user_id,
                           "value": nk.json_decode(stored[0].value)})


async def slow(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    milliseconds = _object(payload).get("ms", 0)
    if not isinstance(milliseconds, int) or isinstance(milliseconds, bool) or not 0 <= milliseconds <= 60_000:
        raise NakamaError("ms must be an integer from 0 to 60000", Code.INVALID_ARGUMENT)
    await asyncio.sleep(milliseconds / 1000)
    return nk.json_encode({"slept_ms": milliseconds})


async def error(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    request = _object(payload)
    code = request.get("code", Code.INTERNAL)
    message = request.get("message", "example error")
    if not isinstance(code, int) or not isinstance(message, str):
        raise NakamaError("code must be an integer and message a string", Code.INVALID_ARGUMENT)
    raise NakamaError(message, code)


def init_module(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, initializer: Initializer) -> None:
    initializer.register_rpc("echo", echo)
    initializer.register_rpc("storage_roundtrip", storage_roundtrip)
    initializer.register_rpc("slow", slow)
    initializer.register_rpc("error", error)
    logger.info("example module loaded")
