"""What the supervisor program and a restarted worker are handed: the supervisor's settings (its one
argument), the worker spec (an inherited memfd), and the live-gauge cleanup it does without
prometheus-client."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import multiprocess

from nakama_py.cluster.write_marks import MarkRegion, WriteMarks
from nakama_py.config import load_config
from nakama_py.supervisor import LoggerSettings, Settings, mark_process_dead, worker_command
from nakama_py.worker_spec import WorkerSpec, read_spec, write_spec


@pytest.mark.unit
def test_settings_survive_their_encoding() -> None:
    settings = Settings(workers=[11, 12], spec_fd=5, metrics_fd=-1, database_pid=0, shutdown_wait=30.0,
                        logger=LoggerSettings("info", True, "", "json"))
    assert Settings.decode(settings.encode()) == settings
    assert worker_command(1, 5)[1:] == ["-m", "nakama_py", "_worker", "1", "5"]


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
