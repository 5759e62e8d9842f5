"""Fixtures of the faults tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.network import RemotePostgres, postgres_behind_link
from tests.faults.postgres import PrivatePostgres, private_postgres


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own, migrated, to restart and stop at will."""
    with private_postgres() as postgres:
        yield postgres


@pytest.fixture
def postgres_over_link() -> Iterator[RemotePostgres]:
    """A migrated PostgreSQL of this test's own in a network namespace, behind a link it can cut and slow."""
    with postgres_behind_link() as remote:
        yield remote
