"""nakama-js's own test suite (our port, tests/nakamajs) against a live nakama-py: one pytest item
per jest test, both socket adapters. Expected failures live in tests/support/nakamajs_expected.py."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator

import pytest

from tests.support.nakamajs_expected import EXPECTED_FAILURES, expected_failure
from tests.support.nakamajs_suite import JsResult, JsTest, declared_tests, run_file, suite_files
from tests.support.server import REPO, ServerProcess, start_server

TESTS = [test for file in suite_files() for test in declared_tests(file)]


def _param(test: JsTest) -> object:
    expected = expected_failure(test)
    # Only a jest test's own failure counts as the expected one, never a broken run of the suite.
    marks = [pytest.mark.xfail(strict=expected.strict, reason=expected.reason, raises=pytest.fail.Exception)
             ] if expected else []
    return pytest.param(test, id=test.id, marks=marks)


@pytest.fixture(scope="module")
def suite_server(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[ServerProcess]:
    """The server the suite talks to, configured as the originals expect (Nakama's default keys)
    with the test RPCs of tests/modules. NAKAMAJS_SERVER_ARGS adds flags, e.g. ``--socket.workers 2``."""
    extra = shlex.split(os.environ.get("NAKAMAJS_SERVER_ARGS", ""))
    server = start_server(tmp_path_factory.mktemp("nakamajs"), database_url,
                          "--runtime.path", str(REPO / "tests" / "modules"), *extra)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jest_results(suite_server: ServerProcess) -> dict[str, dict[str, JsResult] | RuntimeError]:
    """Results of each suite file (or why it could not run), filled the first time one of its tests is asked for."""
    return {}


@pytest.mark.parametrize("test", [_param(test) for test in TESTS])
def test_nakamajs(test: JsTest, suite_server: ServerProcess,
                  jest_results: dict[str, dict[str, JsResult] | RuntimeError],
                  tmp_path_factory: pytest.TempPathFactory) -> None:
    if test.file not in jest_results:
        report = tmp_path_factory.mktemp("jest") / f"{test.file}.json"
        try:
            jest_results[test.file] = run_file(test.file, suite_server.port, report)
        except RuntimeError as error:  # said once per test of the file, not retried for each
            jest_results[test.file] = error
    results = jest_results[test.file]
    if isinstance(results, RuntimeError):
        raise RuntimeError(str(results))
    result = results.get(test.id)
    if result is None:
        raise LookupError(f"jest reported no test {test.id}")
    if test.skipped:
        assert result.status == "pending", result
        pytest.skip("skipped in nakama-js's suite too")
    if result.status != "passed":
        pytest.fail(f"{result.status} in jest:\n{result.message}", pytrace=False)


def test_every_original_test_is_ported() -> None:
    """nakama-js v2.8.0's packages/nakama-js-test: 17 files, 149 tests to run (socket tests twice,
    once per adapter) and 4 skipped ones."""
    assert len(suite_files()) == 17
    assert (sum(not test.skipped for test in TESTS), sum(test.skipped for test in TESTS)) == (149, 4)


def test_expected_failures_name_declared_tests() -> None:
    """Every line of the expected-failure list names a test of the suite (no stale or misspelt key)."""
    declared = {test.id for test in TESTS} | {f"{test.file}::{test.name}" for test in TESTS}
    assert sorted(set(EXPECTED_FAILURES) - declared) == []
