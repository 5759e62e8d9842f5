"""``nakama-py bench SCENARIO ...`` (also ``python -m nakama_py.bench``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from nakama_py.bench.engine import EngineError
from nakama_py.bench.html_report import write_html
from nakama_py.bench.options import Options, parse_options
from nakama_py.bench.pool import RequestFailed
from nakama_py.bench.report import Report
from nakama_py.bench.scenarios import BenchError, run_scenario
from nakama_py.bench.sockets import SocketReport, run_socket_scenario
from nakama_py.bench.target import TargetError
from nakama_py.bench.timeline import timeline
from nakama_py.bench.users import SetupError
from nakama_py.bench.wrk import WrkError


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options = parse_options(args)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)

    def log(message: str) -> None:
        if not options.quiet:
            print(f"bench: {message}", file=sys.stderr, flush=True)

    socket = options.scenario.shape == "socket"
    if socket and options.report:
        print("nakama-py bench: --report draws the HTTP scenarios; the socket scenarios print their figures",
              file=sys.stderr)
        return 2
    for records in options.sweep or [options.records]:
        code = _run(replace(options, records=records), socket, log)
        if code:
            return code
    return 0


def _run(options: Options, socket: bool, log: Callable[[str], None]) -> int:
    try:
        report: Report | SocketReport = run_socket_scenario(options, log) if socket else run_scenario(options, log)
    except (BenchError, SetupError, EngineError, RequestFailed, TargetError, WrkError) as exc:
        print(f"nakama-py bench: {exc}", file=sys.stderr)
        return 1
    if options.report and isinstance(report, Report):
        samples = report.result.samples or []
        origin = min((start for start, *_ in samples), default=0)
        write_html(report, timeline(samples, origin), Path(options.report))
        log(f"report written to {options.report}")
    if options.json:
        if not options.quiet:
            print(report.table(), file=sys.stderr)
        print(report.json_line(), flush=True)
    else:
        print(report.table(), flush=True)
    return 0
