"""``nakama-py scheduler``: call an RPC with the http_key on a cron schedule.

This is the design document's external-scheduler deployment (a cron job calling
``manual_reset_leaderboard``) as one small long-running command that works against
any Nakama-compatible server. Transient failures (connection refused, timeouts,
5xx, 429) are retried with exponential backoff until the next run is due; a
permanent failure (a wrong http key, an unknown RPC, a refused payload) stops the
command with a clear message and a non-zero exit code, because retrying cannot
fix it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
import orjson

from nakama_py.core.leaderboard_schedule import InvalidSchedule, ResetSchedule, parse_schedule
from nakama_py.logs import setup_logging

log = logging.getLogger("nakama_py.scheduler")

EXIT_PERMANENT = 2
TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class PermanentFailure(Exception):
    pass


@dataclass(frozen=True)
class Job:
    url: str
    http_key: str
    rpc: str
    payload: str
    timeout: float

    @property
    def endpoint(self) -> str:
        return f"{self.url.rstrip('/')}/v2/rpc/{quote(self.rpc, safe='')}?http_key={quote(self.http_key, safe='')}"


async def call_once(session: aiohttp.ClientSession, job: Job) -> str:
    """One call; the reply payload on success. Raises PermanentFailure or a transient error."""
    body = orjson.dumps(job.payload)  # RPC bodies are a JSON string holding the payload
    async with session.post(job.endpoint, data=body, headers={"Content-Type": "application/json"},
                            timeout=aiohttp.ClientTimeout(total=job.timeout)) as response:
        text = await response.text()
        if response.status == 200:
            try:
                payload: str = orjson.loads(text).get("payload", "")
            except (orjson.JSONDecodeError, AttributeError):
                payload = text
            return payload
        message = text
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
            message = orjson.loads(text).get("message", text)
        if response.status in TRANSIENT_STATUSES:
            raise ConnectionError(f"HTTP {response.status}: {message}")
        raise PermanentFailure(f"{job.rpc} answered HTTP {response.status}: {message}")


async def run_with_retries(session: aiohttp.ClientSession, job: Job, deadline: float) -> str | None:
    """Call until it succeeds or the deadline (the next run) passes; None when it never did."""
    delay = 1.0
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call_once(session, job)
        except PermanentFailure:
            raise
        except (aiohttp.ClientError, ConnectionError, TimeoutError, OSError) as exc:
            wait = min(delay, max(deadline - time.time(), 0))
            log.warning("call failed; retrying", extra={"fields": {
                "rpc": job.rpc, "attempt": attempt, "error": str(exc) or type(exc).__name__,
                "retry_in_s": round(wait, 2)}})
            if wait <= 0:
                return None
            await asyncio.sleep(wait)
            delay = min(delay * 2, 60.0)


async def run(schedule: ResetSchedule, job: Job, *, once: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            if once:
                due = time.time()
            else:
                due = schedule.next_after(time.time())
                if not due:
                    log.info("the schedule has no more runs", extra={"fields": {"cron": schedule.expression}})
                    return 0
                log.info("next run", extra={"fields": {"rpc": job.rpc, "at": due}})
                try:
                    await asyncio.wait_for(stop.wait(), timeout=max(due - time.time(), 0))
                    break  # asked to stop while waiting
                except TimeoutError:
                    pass
            following = schedule.next_after(due + 1) or due + job.timeout
            try:
                reply = await run_with_retries(session, job, deadline=following)
            except PermanentFailure as exc:
                log.error(str(exc))
                print(f"nakama-py scheduler: {exc}", file=sys.stderr)
                return EXIT_PERMANENT
            if reply is None:
                log.error("run abandoned: the server did not answer before the next run was due",
                          extra={"fields": {"rpc": job.rpc}})
                if once:
                    return 1
            else:
                log.info("run succeeded", extra={"fields": {"rpc": job.rpc, "reply": reply[:500]}})
            if once:
                return 0
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nakama-py scheduler",
                                     description="Call an RPC with the http_key on a cron schedule.")
    parser.add_argument("--cron", default="*/5 * * * *", help="cron expression, UTC (default: every 5 minutes)")
    parser.add_argument("--url", default="http://127.0.0.1:7350", help="server address")
    parser.add_argument("--http-key", required=True, help="the server's runtime.http_key")
    parser.add_argument("--rpc", default="manual_reset_leaderboard", help="RPC id to call")
    parser.add_argument("--payload", default="{}", help="payload sent to the RPC (JSON text)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one call")
    parser.add_argument("--once", action="store_true", help="call once now (with retries) and exit")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"])
    return parser.parse_args(list(argv))


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    from nakama_py.config import LoggerConfig

    setup_logging(LoggerConfig(level=args.log_level))
    try:
        schedule = parse_schedule(args.cron)
    except InvalidSchedule as exc:
        print(f"nakama-py scheduler: --cron: {exc}", file=sys.stderr)
        return EXIT_PERMANENT
    job = Job(args.url, args.http_key, args.rpc, args.payload, args.timeout)
    return asyncio.run(run(schedule, job, once=args.once))
