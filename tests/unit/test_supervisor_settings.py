"""What the supervisor program and a restarted worker are handed: the supervisor's settings (its one
argument), the worker spec (an inherited memfd), and the live-gauge cleanup it does without
prometheus-client."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from prometheus_client import multiprocess

from nakama_py.cluster.write_marks import MarkRegion, WriteMarks
from nakama_py.config import load_config
from nakama_py.logs import JsonFormatter, TextFormatter
from nakama_py.supervisor import (
    PROGRAM,
    format_line,
    mark_process_dead,
    read_settings,
    supervisor_command,
    worker_command,
)
from nakama_py.worker_spec import WorkerSpec, read_spec, write_spec

if TYPE_CHECKING:
    from nakama_py.supervisor import Settings


@pytest.mark.unit
def test_the_commands_of_the_supervisor_and_of_a_restarted_worker() -> None:
    settings: Settings = {"workers": [11, 12], "spec_fd": 5, "metrics_fd": -1, "database_pid": 0,
                          "shutdown_wait": 30.0, "logger": {"level": "info", "stdout": True, "file": "",
                                                            "format": "json"}}
    command = supervisor_command(settings)
    assert command[1:3] == ["-S", PROGRAM] and PROGRAM.endswith("nakama_py/supervisor.py")
    assert read_settings(command[3:]) == settings
    odd: Settings = {"workers": [7], "spec_fd": 9, "metrics_fd": 4, "database_pid": 321, "shutdown_wait": 2.5,
                     "logger": {"level": "debug", "stdout": False, "file": "/tmp/a log=with, odd chars.txt",
                                "format": "text"}}
    assert read_settings(supervisor_command(odd)[3:]) == odd
    assert worker_command(1, 5)[1:] == ["-m", "nakama_py", "_worker", "1", "5"]


@pytest.mark.unit
@pytest.mark.parametrize("fields", [{}, {"worker": 1, "pid": 4242, "status": -9}, {"workers": 2, "pids": [5, 6]},
                                    {"note": "naïve \"quoted\"\nline"}])
@pytest.mark.parametrize("level", ["info", "error"])
def test_the_supervisor_writes_the_lines_logs_py_writes(fields: dict[str, object], level: str) -> None:
    record = logging.LogRecord("nakama_py.server", logging.INFO if level == "info" else logging.ERROR, __file__, 1,
                               "worker exited; restarting it", None, None)
    record.fields = fields
    for created in (1764498528.1649, 1764498528.9996, 1764498528.0):
        record.created = created
        assert format_line(level, record.name, record.getMessage(), fields, created,
                           json_format=True) == JsonFormatter().format(record)
        assert format_line(level, record.name, record.getMessage(), fields, created,
                           json_format=False) == TextFormatter().format(record)


@pytest.mark.unit
def test_the_worker_spec_gives_back_the_configuration_and_its_sources() -> None:
    config = load_config([], {"socket.port": ["7777"], "session.encryption_key": ["a-secret-of-our-own"],
                              "runtime.env": ["a=b", "c=d"]})
    region = MarkRegion(2)
    fd = write_spec(WorkerSpec(config, "host=db password=pw", 2, region.fd))
    try:
        assert os.get_inheritable(fd) and os.get_inheritable(region.fd)
        spec = read_spec(fd)
        assert spec.config == config
        assert spec.config.source_of("socket.port") == "flag"
        assert (spec.conninfo, spec.workers, spec.region_fd) == ("host=db password=pw", 2, region.fd)
    finally:
        os.close(fd)


@pytest.mark.unit
def test_a_region_mapped_again_from_its_fd_is_the_same_memory() -> None:
    region = MarkRegion(2)
    again = MarkRegion(2, region.fd)
    WriteMarks(region, 0).mark(42)
    assert WriteMarks(again, 1).heads() == [1, 0]


@pytest.mark.unit
def test_live_gauges_of_a_dead_process_go_as_with_prometheus_client(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["gauge_livesum_7.db", "gauge_livemax_7.db", "gauge_liveall_7.db", "gauge_livemin_7.db",
             "gauge_livemostrecent_7.db", "gauge_max_7.db", "counter_7.db", "gauge_livesum_70.db"]
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for directory in (ours, theirs):
        directory.mkdir()
        for name in names:
            (directory / name).write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(ours))
    mark_process_dead(7)
    multiprocess.mark_process_dead(7, str(theirs))  # type: ignore[no-untyped-call]
    assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in theirs.iterdir())
    assert "gauge_max_7.db" in {p.name for p in ours.iterdir()}
