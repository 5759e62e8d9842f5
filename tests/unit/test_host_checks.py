"""The start-up warning about autogroup scheduling: logged when PostgreSQL is on this machine and the kernel
groups the CPUs by session, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest

from nakama_py.db.address import is_local, to_conninfo
from nakama_py.host_checks import AUTOGROUP_WARNING, scheduling_warning


@pytest.mark.parametrize(("address", "local"), [
    ("postgres@127.0.0.1:5432/nakama", True),
    ("root@localhost/nakama", True),
    ("root@[::1]:5432/nakama", True),
    ("postgresql://root@/nakama?host=/var/run/postgresql", True),
    ("postgresql:///nakama", True),  # libpq's default socket
    ("root@db.internal:5432/nakama", False),
    ("root@10.0.0.5/nakama", False),
])
def test_a_database_on_this_machine_is_told_from_a_remote_one(address: str, local: bool) -> None:
    assert is_local(to_conninfo(address)) is local


def test_the_warning_names_the_setting_when_autogroup_is_on_and_postgresql_is_local(tmp_path: Path) -> None:
    setting = tmp_path / "sched_autogroup_enabled"
    setting.write_text("1\n")
    local, remote = to_conninfo("postgres@127.0.0.1/nakama"), to_conninfo("postgres@db.internal/nakama")
    assert scheduling_warning(local, setting) == AUTOGROUP_WARNING
    assert "kernel.sched_autogroup_enabled is 1" in AUTOGROUP_WARNING
    assert scheduling_warning(remote, setting) is None
    setting.write_text("0\n")
    assert scheduling_warning(local, setting) is None
    assert scheduling_warning(local, tmp_path / "absent") is None  # a kernel without autogroup
