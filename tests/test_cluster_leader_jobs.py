"""Single-leader jobs: one holder at a time on a shared database, handed over when it stops.
(Across real server processes: tests/test_nk_api.py, a runtime module's background job.)"""

from __future__ import annotations

import asyncio

from nakama_py.cluster.leader_jobs import LeaderJob, LeaderJobs


async def test_a_background_job_runs_in_one_holder_and_moves_when_it_stops(database_url: str) -> None:
    runs: list[str] = []

    def job_for(holder: str) -> LeaderJob:
        async def tick() -> None:
            runs.append(holder)

        return LeaderJob("tidy-" + database_url[-8:], 0.05, tick)

    first = LeaderJobs(database_url, [job_for("first")], retry_sec=0.1)
    second = LeaderJobs(database_url, [job_for("second")], retry_sec=0.1)
    first.start()
    await asyncio.sleep(0.5)
    second.start()
    try:
        await asyncio.sleep(1.0)
        assert set(runs) == {"first"} and len(runs) >= 10
        assert first.held and not second.held
        await first.stop()
        taken_over = len(runs)
        for _ in range(50):
            if "second" in runs[taken_over:]:
                break
            await asyncio.sleep(0.1)
        assert set(runs[taken_over:]) == {"second"}
    finally:
        await first.stop()
        await second.stop()


async def test_a_holder_whose_connection_drops_gives_the_job_up_and_takes_it_again(database_url: str) -> None:
    import psycopg

    runs: list[float] = []

    async def tick() -> None:
        runs.append(asyncio.get_running_loop().time())

    jobs = LeaderJobs(database_url, [LeaderJob("reconnect-" + database_url[-8:], 0.05, tick)], retry_sec=0.1)
    jobs.start()
    try:
        await asyncio.sleep(0.5)
        assert jobs.held and runs
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                               " WHERE application_name = 'nakama-py-jobs' AND datname = current_database()")
        for _ in range(20):  # given up at once (another process may hold the lock by now)
            if not jobs.held:
                break
            await asyncio.sleep(0.05)
        assert not jobs.held
        for _ in range(50):  # and taken again on a new connection
            if jobs.held:
                break
            await asyncio.sleep(0.1)
        assert jobs.held
        resumed = len(runs)
        await asyncio.sleep(0.3)
        assert len(runs) > resumed
    finally:
        await jobs.stop()
