"""The command line: ``serve``, ``migrate``, ``healthcheck``, ``scheduler``, ``bench``, ``openapi``, ``--version``.

Configuration flags use Nakama's form, ``--section.key value``, after the command.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

from nakama_py import __version__
from nakama_py.config import Config, ConfigError, load_config, parse_flags
from nakama_py.logs import setup_logging

USAGE = """nakama-py [--version] <command> [options] [--config FILE] [--section.key VALUE ...]

commands:
  serve                      start the server (an embedded PostgreSQL when no database.address is set)
  migrate up|down|status     apply, roll back (--limit N, default 1) or list database migrations
  healthcheck [PORT]         exit 0 when a server answers on 127.0.0.1:PORT (default 7350)
  scheduler                  call an RPC on a cron schedule (external leaderboard-reset scheduler)
  bench SCENARIO             load-test a Nakama-compatible server
  openapi [--check] [DIR]    write (or check) DIR/openapi.json and openapi-console.json (DIR: docs)

examples:
  nakama-py serve --socket.port 7350 --runtime.http_key s3cret
  nakama-py serve --database.address postgres@127.0.0.1:5432/nakama
  nakama-py migrate status --database.address postgres@127.0.0.1:5432/nakama
"""


SERVE_USAGE = """usage: nakama-py serve [--config FILE ...] [--section.key VALUE ...] [--skip-migrations] [--production]

Start the server: the API on socket.port (7350) and the console on console.port (7351).
With no database.address an embedded PostgreSQL is started under <data_dir>/postgres.
Every configuration key of Nakama is a flag: --socket.port 7350 --runtime.http_key s3cret.
--production (the key `production: true`) refuses to start while a secret is at its published
default or too short, naming each.
"""

MIGRATE_USAGE = """usage: nakama-py migrate up|down|status [--limit N] [--config FILE] [--database.address ADDR]

  up       apply pending migrations (the database is created when it does not exist)
  down     roll back the last --limit N migrations (default 1)
  status   list migrations and when each was applied
"""

HEALTHCHECK_USAGE = """usage: nakama-py healthcheck [PORT]

Exit 0 when a server answers GET /healthcheck on 127.0.0.1:PORT (default 7350), 1 otherwise.
"""

HELP_FLAGS = ("-h", "--help")


def _wants_help(args: Sequence[str]) -> bool:
    return any(arg in HELP_FLAGS for arg in args)


def _config(args: Sequence[str]) -> Config:
    files, flags = parse_flags(args)
    return load_config(files, flags)


def cmd_serve(args: list[str]) -> int:
    if _wants_help(args):
        print(SERVE_USAGE)
        return 0
    migrate = True
    rest = []
    for at, arg in enumerate(args):
        if arg in ("--skip-migrations", "--no-migrate"):
            migrate = False
        elif arg == "--production" and (at + 1 == len(args) or args[at + 1].startswith("--")):
            rest += ["--production", "true"]  # the bare switch; `--production false` stays a key
        else:
            rest.append(arg)
    config = _config(rest)
    setup_logging(config.logger, secrets=config.secret_values())
    from nakama_py.server import ReportedStartupError, StartupError, serve

    try:
        return serve(config, migrate=migrate)
    except ReportedStartupError:
        return 1
    except StartupError as exc:
        logging.getLogger("nakama_py.server").error(str(exc))
        return 1


def cmd_worker(args: list[str]) -> int:
    """``_worker INDEX SPEC_FD`` (not listed): a worker the supervisor restarts (supervisor.py)."""
    from nakama_py.server import restarted_worker

    restarted_worker(int(args[0]), int(args[1]))
    return 1  # not reached: a worker ends with os._exit


def cmd_migrate(args: list[str]) -> int:
    if _wants_help(args):
        print(MIGRATE_USAGE)
        return 0
    if not args or args[0] not in ("up", "down", "status"):
        print(MIGRATE_USAGE, file=sys.stderr)
        return 2
    action, rest = args[0], args[1:]
    limit = 1
    if "--limit" in rest:
        at = rest.index("--limit")
        if at + 1 >= len(rest) or not rest[at + 1].isdigit():
            raise ConfigError("--limit needs a number of migrations")
        limit = int(rest[at + 1])
        del rest[at:at + 2]
    config = _config(rest)
    setup_logging(config.logger)
    from nakama_py.db.address import session_conninfo
    from nakama_py.db.bootstrap import DatabaseUnreachable, ensure_database
    from nakama_py.db.migrations import migrate_down, migrate_up, migration_status
    from nakama_py.db.pool import Database
    from nakama_py.server import resolve_database

    pooled, embedded = resolve_database(config)
    conninfo = session_conninfo(config.database.session_address, pooled)  # the migration lock needs a session
    try:
        ensure_database(conninfo)  # creates a missing database; one line, not a pool timeout, otherwise
    except DatabaseUnreachable as exc:
        if embedded is not None:
            embedded.stop()
        print(f"nakama-py: {exc}", file=sys.stderr)
        return 1

    async def run() -> int:
        db = Database(conninfo, min_size=1, max_size=2, name="nakama-py-migrate")
        await db.connect()
        try:
            if action == "up":
                applied = await migrate_up(db)
                print(f"applied {len(applied)} migration(s)" + "".join(f"\n  {m}" for m in applied))
            elif action == "down":
                undone = await migrate_down(db, limit)
                print(f"rolled back {len(undone)} migration(s)" + "".join(f"\n  {m}" for m in undone))
            else:
                for status in await migration_status(db):
                    when = status.applied_at.isoformat() if status.applied_at else "pending"
                    print(f"{status.id:40} {when}")
            return 0
        finally:
            await db.close()

    try:
        return asyncio.run(run())
    finally:
        if embedded is not None:
            embedded.stop()


def cmd_healthcheck(args: list[str]) -> int:
    if _wants_help(args):
        print(HEALTHCHECK_USAGE)
        return 0
    if len(args) > 1 or (args and not args[0].isdigit()):
        print(HEALTHCHECK_USAGE, file=sys.stderr)
        return 2
    port = int(args[0]) if args else 7350
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=5) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError):
        ok = False
    print("healthy" if ok else "unhealthy")
    return 0 if ok else 1


def cmd_scheduler(args: list[str]) -> int:
    from nakama_py.scheduler.external import main as scheduler_main

    return scheduler_main(args)


def cmd_bench(args: list[str]) -> int:
    from nakama_py.bench.cli import main as bench_main

    return bench_main(args)


def cmd_openapi(args: list[str]) -> int:
    from nakama_py.openapi.command import main as openapi_main

    return openapi_main(args)


COMMANDS = {
    "serve": cmd_serve,
    "migrate": cmd_migrate,
    "healthcheck": cmd_healthcheck,
    "scheduler": cmd_scheduler,
    "bench": cmd_bench,
    "openapi": cmd_openapi,
    "_worker": cmd_worker,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] in ("--version", "-v", "version"):
        print(f"nakama-py {__version__}")
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"nakama-py: unknown command {args[0]!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return command(args[1:])
    except ConfigError as exc:
        print(f"nakama-py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
