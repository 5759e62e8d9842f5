"""Every ``nk`` function through the real core services and database."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from nakama_py.errors import Code, NakamaError
from nakama_py.runtime import (
    Context,
    Leaderboard,
    NakamaModule,
    RuntimeLogger,
    StorageObjectId,
    StorageWrite,
    WalletNegativeError,
)
from nakama_py.state import ServerState
from tests.support.users import create_user

Factory = Callable[..., Any]


@pytest.fixture
def nk(state: ServerState) -> NakamaModule:
    assert state.runtime.nk is not None
    return state.runtime.nk


async def wallet_of(state: ServerState, user_id: str) -> dict[str, int]:
    return await state.db.fetchval("SELECT wallet FROM users WHERE id = %s", (user_id,))  # type: ignore[no-any-return]


async def ledger_of(state: ServerState, user_id: str) -> list[tuple[Any, ...]]:
    return await state.db.fetch("SELECT changeset, metadata FROM wallet_ledger WHERE user_id = %s "
                                "ORDER BY create_time, id", (user_id,))


# --- wallets -------------------------------------------------------------------------


async def test_wallet_update_credits_and_writes_a_ledger_row(state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    result = await nk.wallet_update(user.user_id, {"coins": 100, "gems": 2}, {"reason": "welcome"})
    assert result.previous == {} and result.updated == {"coins": 100, "gems": 2}
    result = await nk.wallet_update(user.user_id, {"coins": -30})
    assert result.previous == {"coins": 100, "gems": 2} and result.updated == {"coins": 70, "gems": 2}
    assert await wallet_of(state, user.user_id) == {"coins": 70, "gems": 2}
    assert await ledger_of(state, user.user_id) == [({"coins": 100, "gems": 2}, {"reason": "welcome"}),
                                                   ({"coins": -30}, {})]


async def test_a_wallet_never_goes_negative_unless_asked(state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    await nk.wallet_update(user.user_id, {"coins": 10, "gems": 5})
    with pytest.raises(WalletNegativeError) as caught:
        await nk.wallet_update(user.user_id, {"gems": -1, "coins": -11})
    assert caught.value.code == Code.FAILED_PRECONDITION
    assert caught.value.message == "wallet update rejected negative value at path 'coins'"
    assert (caught.value.current, caught.value.amount) == (10, -11)
    assert await wallet_of(state, user.user_id) == {"coins": 10, "gems": 5}   # gems untouched too
    assert len(await ledger_of(state, user.user_id)) == 1
    result = await nk.wallet_update(user.user_id, {"coins": -11}, allow_negative=True)
    assert result.updated["coins"] == -1


async def test_wallet_update_without_ledger(state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    await nk.wallet_update(user.user_id, {"coins": 1}, update_ledger=False)
    assert await wallet_of(state, user.user_id) == {"coins": 1}
    assert await ledger_of(state, user.user_id) == []


@pytest.mark.parametrize(("user_id", "changeset", "code"), [
    ("not-a-uuid", {"coins": 1}, 3),
    (str(uuid.uuid4()), {"coins": 1}, 5),
    (None, {"coins": 1.5}, 3),
    (None, {"coins": True}, 3),
    (None, {"": 1}, 3),
])
async def test_wallet_update_refusals(state: ServerState, nk: NakamaModule, user_id: str | None,
                                      changeset: dict[str, Any], code: int) -> None:
    user = await create_user(state)
    with pytest.raises(NakamaError) as caught:
        await nk.wallet_update(user_id or user.user_id, changeset)
    assert caught.value.code == code
    assert await wallet_of(state, user.user_id) == {}


async def test_concurrent_debits_never_overdraw(state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    await nk.wallet_update(user.user_id, {"coins": 5})
    outcomes = await asyncio.gather(*(nk.wallet_update(user.user_id, {"coins": -1}) for _ in range(12)),
                                    return_exceptions=True)
    assert sum(1 for o in outcomes if isinstance(o, WalletNegativeError)) == 7
    assert await wallet_of(state, user.user_id) == {"coins": 0}
    assert len(await ledger_of(state, user.user_id)) == 6


async def test_wallets_update_is_all_or_nothing(state: ServerState, nk: NakamaModule) -> None:
    rich, poor = await create_user(state), await create_user(state)
    await nk.wallet_update(rich.user_id, {"coins": 50})
    with pytest.raises(WalletNegativeError):
        await nk.wallets_update([{"user_id": rich.user_id, "changeset": {"coins": -50}},
                                 {"user_id": poor.user_id, "changeset": {"coins": -1}}])
    assert await wallet_of(state, rich.user_id) == {"coins": 50}
    results = await nk.wallets_update([{"user_id": rich.user_id, "changeset": {"coins": -20}},
                                       {"user_id": poor.user_id, "changeset": {"coins": 20}, "metadata": {"p": 1}}])
    assert [(r.user_id, r.updated) for r in results] == [(rich.user_id, {"coins": 30}), (poor.user_id, {"coins": 20})]


async def test_wallet_ledger_list_pages_newest_first(state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    for amount in range(1, 6):
        await nk.wallet_update(user.user_id, {"coins": amount}, {"n": amount})
    first, cursor = await nk.wallet_ledger_list(user.user_id, limit=2)
    assert [item.changeset for item in first] == [{"coins": 5}, {"coins": 4}]
    assert first[0].metadata == {"n": 5} and first[0].user_id == user.user_id
    second, cursor = await nk.wallet_ledger_list(user.user_id, limit=2, cursor=cursor)
    third, end = await nk.wallet_ledger_list(user.user_id, limit=2, cursor=cursor)
    assert [i.changeset["coins"] for i in second + third] == [3, 2, 1]
    assert end is None
    with pytest.raises(NakamaError, match="wallet ledger cursor invalid"):
        await nk.wallet_ledger_list(user.user_id, cursor="garbage")
    other = await create_user(state)
    with pytest.raises(NakamaError, match="wallet ledger cursor invalid"):
        await nk.wallet_ledger_list(other.user_id, limit=2, cursor=cursor)


# --- notifications ---------------------------------------------------------------------


async def test_notification_send_is_persisted(state: ServerState, nk: NakamaModule) -> None:
    user, sender = await create_user(state), await create_user(state)
    sent = await nk.notification_send(user.user_id, "You won", {"prize": 1000}, 101, sender.user_id)
    rows = await state.db.fetch("SELECT id::text, subject, content, code, sender_id::text FROM notification "
                                "WHERE user_id = %s", (user.user_id,))
    assert rows == [(sent.id, "You won", {"prize": 1000}, 101, sender.user_id)]
    listed, cursor = await nk.notifications_list(user.user_id)
    assert [(n.id, n.subject, n.content, n.code) for n in listed] == [(sent.id, "You won", {"prize": 1000}, 101)]
    assert cursor is None


async def test_notifications_send_validates_all_before_storing_any(state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    good: dict[str, Any] = {"user_id": user.user_id, "subject": "ok", "content": {}, "code": 1}
    cases: list[tuple[dict[str, Any], str]] = [
                        ({"code": 0}, "expects code to number above 0"),
                        ({"subject": ""}, "expects subject to be a non-empty string"),
                        ({"user_id": "nope"}, "expects userID to be a valid UUID"),
                        ({"sender_id": "nope"}, "expects sender to either be an empty string or a valid UUID")]
    for bad, message in cases:
        with pytest.raises(NakamaError, match=re.escape(message)):
            await nk.notifications_send([good, {**good, **bad}])
    assert await state.db.fetchval("SELECT count(*) FROM notification WHERE user_id = %s", (user.user_id,)) == 0
    with pytest.raises(NakamaError) as caught:
        await nk.notifications_send([good, {**good, "user_id": str(uuid.uuid4())}])
    assert caught.value.code == Code.NOT_FOUND
    assert await state.db.fetchval("SELECT count(*) FROM notification WHERE user_id = %s", (user.user_id,)) == 0
    sent = await nk.notifications_send([good, {**good, "subject": "system", "code": -1500},
                                        {**good, "persistent": False}])
    assert [n.persistent for n in sent] == [True, True, False]
    assert await state.db.fetchval("SELECT count(*) FROM notification WHERE user_id = %s", (user.user_id,)) == 2


# --- multi_update --------------------------------------------------------------------


async def test_multi_update_applies_storage_and_wallets_together(state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    result = await nk.multi_update(
        storage_writes=[{"collection": "race_data", "key": "reward_7", "user_id": user.user_id,
                         "value": {"coins": 1000}, "version": "*", "permission_read": 1, "permission_write": 0}],
        wallet_updates=[{"user_id": user.user_id, "changeset": {"coins": 1000}, "metadata": {"cycle": 7}}])
    assert [(a.collection, a.key, a.user_id) for a in result.storage_acks] == [("race_data", "reward_7", user.user_id)]
    assert result.wallet_results[0].updated == {"coins": 1000}
    assert await wallet_of(state, user.user_id) == {"coins": 1000}


async def test_multi_update_rolls_back_storage_when_a_wallet_fails(state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    with pytest.raises(WalletNegativeError):
        await nk.multi_update(storage_writes=[StorageWrite("c", "k", '{"a": 1}', user_id=user.user_id)],
                              wallet_updates=[{"user_id": user.user_id, "changeset": {"coins": -1}}])
    assert await nk.storage_read([StorageObjectId("c", "k", user.user_id)]) == []


async def test_multi_update_rolls_back_wallets_when_storage_fails(state: ServerState, nk: NakamaModule) -> None:
    """The racing reward pattern: a create-only receipt makes a second payment impossible."""
    user = await create_user(state)
    receipt = {"collection": "race_data", "key": "reward_8", "user_id": user.user_id, "value": {"c": 8},
               "version": "*"}
    credit = {"user_id": user.user_id, "changeset": {"coins": 500}}
    await nk.multi_update(storage_writes=[receipt], wallet_updates=[credit])
    with pytest.raises(NakamaError, match="version check failed"):
        await nk.multi_update(storage_writes=[receipt], wallet_updates=[credit])
    assert await wallet_of(state, user.user_id) == {"coins": 500}
    assert len(await ledger_of(state, user.user_id)) == 1


async def test_multi_update_deletes(state: ServerState, nk: NakamaModule) -> None:
    await nk.storage_write([{"collection": "c", "key": "gone", "value": "{}"}])
    await nk.multi_update(storage_deletes=[{"collection": "c", "key": "gone"}])
    assert await nk.storage_read([{"collection": "c", "key": "gone"}]) == []


# --- leaderboards ------------------------------------------------------------------------


async def test_leaderboards_through_nk(state: ServerState, nk: NakamaModule) -> None:
    board_id = "race_" + uuid.uuid4().hex[:8]
    board = await nk.leaderboard_create(board_id, authoritative=True, sort_order="desc", operator="best",
                                        metadata={"track": "monza"})
    assert (board.id, board.authoritative, board.sort_order, board.operator) == (board_id, True, "desc", "best")
    assert (board.reset_schedule, board.prev_reset, board.next_reset, board.enable_ranks) == (None, 0, 0, True)
    assert isinstance(board, Leaderboard)
    assert (await nk.leaderboard_create(board_id)).metadata == {"track": "monza"}     # idempotent
    assert [b.id for b in await nk.leaderboards_get_id([board_id, "missing"])] == [board_id]

    a, b, c = [await create_user(state) for _ in range(3)]
    await nk.leaderboard_record_write(board_id, a.user_id, a.username, 10)           # authoritative: runtime may
    await nk.leaderboard_record_write(board_id, b.user_id, b.username, 20, 1)
    await nk.leaderboard_record_write(board_id, c.user_id, c.username, 15)
    record = await nk.leaderboard_record_write(board_id, a.user_id, score=8, override_operator="incr")
    assert (record.score, record.rank) == (18, 2)

    page = await nk.leaderboard_records_list(board_id, limit=2)
    assert [(r.owner_id, r.score, r.rank) for r in page.records] == [(b.user_id, 20, 1), (a.user_id, 18, 2)]
    assert page.rank_count == 3 and page.next_cursor
    rest = await nk.leaderboard_records_list(board_id, limit=2, cursor=page.next_cursor)
    assert [r.owner_id for r in rest.records] == [c.user_id]
    owners = await nk.leaderboard_records_list(board_id, owner_ids=[c.user_id], limit=0)
    assert owners.records == [] and [r.rank for r in owners.owner_records] == [3]
    around = await nk.leaderboard_records_haystack(board_id, c.user_id, limit=2)
    assert c.user_id in [r.owner_id for r in around.records]

    top = await nk.leaderboard_top(board_id, 2)
    assert [(e.rank, e.owner_id, e.score) for e in top.entries] == [(1, b.user_id, 20), (2, a.user_id, 18)]
    assert top.total == 3
    mine = await nk.leaderboard_rank(board_id, c.user_id)
    assert mine is not None and (mine.rank, mine.score, mine.username) == (3, 15, c.username)

    await nk.leaderboard_record_delete(board_id, b.user_id)
    assert await nk.leaderboard_rank(board_id, b.user_id) is None
    assert (await nk.leaderboard_top(board_id, 1)).entries[0].owner_id == a.user_id
    listed_ids: list[str] = []
    cursor: str | None = None
    while True:  # other tests' boards share the database: page through all of them
        listed, cursor = await nk.leaderboard_list(limit=100, cursor=cursor)
        listed_ids += [item.id for item in listed]
        if cursor is None:
            break
    assert board_id in listed_ids
    await nk.leaderboard_delete(board_id)
    assert await nk.leaderboards_get_id([board_id]) == []


async def test_idempotent_writes_and_their_receipts(state: ServerState, nk: NakamaModule) -> None:
    from nakama_py.errors import RateLimitedError

    board_id = "times_" + uuid.uuid4().hex[:8]
    await nk.leaderboard_create(board_id, authoritative=True, sort_order="asc")
    user = await create_user(state)
    first = await nk.leaderboard_record_write_once(board_id, user.user_id, "lap-1", score=81250, ttl_seconds=1)
    again = await nk.leaderboard_record_write_once(board_id, user.user_id, "lap-1", score=1)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.record.score == 81250 and again.rank == first.rank == 1
    await asyncio.sleep(1.2)
    assert await nk.leaderboard_record_write_once_purge() >= 1
    fresh = await nk.leaderboard_record_write_once(board_id, user.user_id, "lap-1", score=70000)
    assert fresh.replayed is False and fresh.record.score == 70000

    limited = await create_user(state)
    for key in ("a", "b"):
        await nk.leaderboard_record_write_once(board_id, limited.user_id, key, score=90000, rate_limit=(2, 60))
    with pytest.raises(RateLimitedError) as caught:
        await nk.leaderboard_record_write_once(board_id, limited.user_id, "c", score=89000, rate_limit=(2, 60))
    assert caught.value.code == Code.RESOURCE_EXHAUSTED and 0 < caught.value.retry_after <= 60


async def test_records_of_expired_periods_are_deleted(state: ServerState, nk: NakamaModule) -> None:
    board_id = "cycles_" + uuid.uuid4().hex[:8]
    await nk.leaderboard_create(board_id, reset_schedule="* * * * *")
    user = await create_user(state)
    record = await nk.leaderboard_record_write(board_id, user.user_id, score=5)
    assert record.expiry_time is not None
    assert await nk.leaderboard_records_delete_expired(board_id, int(time.time()) - 60) == 0
    assert await nk.leaderboard_records_delete_expired(board_id, record.expiry_time) == 0  # ends at, not before
    assert await nk.leaderboard_records_delete_expired(board_id, int(record.expiry_time.timestamp()) + 1) == 1
    assert (await nk.leaderboard_records_list(board_id, owner_ids=[user.user_id], limit=0)).owner_records == []


async def test_top_and_rank_of_a_past_period_read_it_on_first_use(state: ServerState, nk: NakamaModule) -> None:
    board_id = "periods_" + uuid.uuid4().hex[:8]
    await nk.leaderboard_create(board_id, reset_schedule="*/2 * * * * * *", sort_order="asc")
    user = await create_user(state)
    receipt = await nk.leaderboard_record_write_once(board_id, user.user_id, "run-1", score=42)
    assert receipt.record.expiry_time is not None
    expiry = int(receipt.record.expiry_time.timestamp())
    assert await nk.leaderboard_record_write_once_count(board_id) == 1
    assert await nk.leaderboard_record_write_once_count(board_id, expiry=expiry) == 1
    await asyncio.sleep(max(0.0, expiry - time.time()) + 0.1)  # the period ends
    state.leaderboards.drop_buckets_before(board_id, expiry + 1)  # as memory trimming does after a while

    top = await nk.leaderboard_top(board_id, 10, expiry)
    assert [(e.rank, e.owner_id, e.score) for e in top.entries] == [(1, user.user_id, 42)]
    assert (top.total, top.expiry_time) == (1, expiry)
    state.leaderboards.drop_buckets_before(board_id, expiry + 1)
    mine = await nk.leaderboard_rank(board_id, user.user_id, expiry)
    assert mine is not None and (mine.rank, mine.score) == (1, 42)
    assert await nk.leaderboard_ranks_load(board_id, expiry) == 1
    assert await nk.leaderboard_record_write_once_count(board_id, expiry=expiry + 2) == 0


async def test_a_reset_function_fires_for_a_scheduled_board(make_config: Factory, database_url: str,
                                                            tmp_path: Any) -> None:
    from nakama_py.state import build_state
    from tests.support.modules import write_module

    board_id = "every2s_" + uuid.uuid4().hex[:8]
    write_module(tmp_path / "m", "resets.py", f"""
        FIRED = []

        async def on_reset(ctx, logger, nk, leaderboard, reset):
            FIRED.append((ctx.execution_mode, leaderboard.id, reset, ctx.user_id, leaderboard))

        async def init_module(ctx, logger, nk, initializer):
            await nk.leaderboard_create("{board_id}", reset_schedule="*/2 * * * * * *")
            initializer.register_leaderboard_reset(on_reset)
    """)
    state = await build_state(make_config("--runtime.path", str(tmp_path / "m")), database_url)
    try:
        import resets  # type: ignore[import-not-found]

        for _ in range(100):
            if any(fired[1] == board_id for fired in resets.FIRED):
                break
            await asyncio.sleep(0.1)
        mode, _, reset, user_id, leaderboard = next(f for f in resets.FIRED if f[1] == board_id)
        assert (mode, user_id) == ("leaderboard_reset", None)
        assert isinstance(leaderboard, Leaderboard)  # the runtime's type, with names for its enumerations
        assert (leaderboard.sort_order, leaderboard.operator, leaderboard.reset_schedule) == (
            "desc", "best", "*/2 * * * * * *")
        assert reset % 2 == 0 and abs(reset - time.time()) < 10
    finally:
        await state.close()


# --- storage -------------------------------------------------------------------------------


async def test_storage_round_trip(state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    acks = await nk.storage_write([{"collection": "saves", "key": "slot1", "user_id": user.user_id,
                                    "value": {"level": 3}, "permission_read": 2},
                                   StorageWrite("saves", "slot2", '{"level": 4}', user_id=user.user_id)])
    assert [a.key for a in acks] == ["slot1", "slot2"]
    objects = await nk.storage_read([{"collection": "saves", "key": "slot1", "user_id": user.user_id}])
    assert nk.json_decode(objects[0].value) == {"level": 3} and objects[0].permission_read == 2
    listed, cursor = await nk.storage_list(user.user_id, "saves", limit=10)
    assert sorted(o.key for o in listed) == ["slot1", "slot2"] and cursor is None
    await nk.storage_delete([{"collection": "saves", "key": "slot1", "user_id": user.user_id}])
    listed, _ = await nk.storage_list(user.user_id, "saves")
    assert [o.key for o in listed] == ["slot2"]


# --- accounts ----------------------------------------------------------------------------


async def test_accounts_and_tokens(state: ServerState, nk: NakamaModule) -> None:
    first = await nk.authenticate_custom("runtime-custom-id-1", username="runner1")
    again = await nk.authenticate_custom("runtime-custom-id-1")
    assert first.created and not again.created and again.user_id == first.user_id
    account = await nk.account_get_id(first.user_id)
    assert account.custom_id == "runtime-custom-id-1" and account.user.username == "runner1"
    assert [u.id for u in await nk.users_get_username(["runner1"])] == [first.user_id]
    assert [u.username for u in await nk.users_get_id([first.user_id])] == ["runner1"]
    token, expires_at = await nk.authenticate_token_generate(first.user_id, vars={"k": "v"})
    claims = state.sessions.verify_session(token)
    assert (claims.user_id, claims.username, claims.vars, claims.expires_at) == (first.user_id, "runner1",
                                                                                 {"k": "v"}, expires_at)
    assert abs(expires_at - (time.time() + state.config.session.token_expiry_sec)) < 5
    token, expires_at = await nk.authenticate_token_generate(first.user_id, "alias", int(time.time()) + 3600)
    assert state.sessions.verify_session(token).username == "alias"
    with pytest.raises(NakamaError) as caught:
        await nk.authenticate_token_generate(str(uuid.uuid4()))
    assert caught.value.code == Code.NOT_FOUND


# --- SQL, cache, helpers, metrics ---------------------------------------------------------


async def test_sql_is_parameterised(state: ServerState, nk: NakamaModule) -> None:
    hostile = "x'); DROP TABLE users; --"
    rows = await nk.sql_query("SELECT %s::text AS value, %s::int AS n", [hostile, 7])
    assert rows == [{"value": hostile, "n": 7}]
    user = await create_user(state)
    assert await nk.sql_exec("UPDATE users SET display_name = %(name)s WHERE id = %(id)s",
                             {"name": hostile, "id": user.user_id}) == 1
    assert await state.db.fetchval("SELECT display_name FROM users WHERE id = %s", (user.user_id,)) == hostile
    with pytest.raises(NakamaError, match="not a string"):
        await nk.sql_query("SELECT %s", "abc")


async def test_localcache_expires(nk: NakamaModule) -> None:
    nk.localcache_put("forever", {"a": 1})
    nk.localcache_put("brief", "soon gone", ttl_seconds=0.05)
    assert nk.localcache_get("brief") == "soon gone"
    await asyncio.sleep(0.1)
    assert nk.localcache_get("brief") is None
    assert nk.localcache_get("brief", "fallback") == "fallback"
    assert nk.localcache_get("forever") == {"a": 1}
    nk.localcache_delete("forever")
    assert nk.localcache_get("forever") is None


def test_pure_helpers(nk: NakamaModule) -> None:
    assert uuid.UUID(nk.uuid_v4()).version == 4
    assert abs(nk.time() - time.time() * 1000) < 5000
    midnight = datetime(2024, 5, 2, tzinfo=UTC).timestamp()
    assert nk.cron_next("0 0 * * *", midnight - 1) == midnight
    assert nk.cron_next("0 0 * * *", midnight) == midnight + 86400
    assert nk.cron_prev("*/5 * * * *", midnight + 1) == midnight
    with pytest.raises(NakamaError, match="expects a valid cron string"):
        nk.cron_next("every tuesday")
    assert nk.json_decode(nk.json_encode({"a": [1, "é"]})) == {"a": [1, "é"]}


def test_custom_metrics(state: ServerState, nk: NakamaModule) -> None:
    nk.metrics_counter_add("submissions", {"result": "accepted"}, 2)
    nk.metrics_gauge_set("leaderboard_size", None, 42)
    nk.metrics_timer_record("finalize", None, 0.25)
    registry = state.metrics.registry
    assert registry.get_sample_value("nakama_custom_submissions_total", {"result": "accepted"}) == 2
    assert registry.get_sample_value("nakama_custom_leaderboard_size") == 42
    assert registry.get_sample_value("nakama_custom_finalize_count") == 1


async def test_run_once_runs_once(nk: NakamaModule) -> None:
    calls: list[str] = []

    async def setup(ctx: Context, logger: RuntimeLogger, nk: NakamaModule) -> None:
        calls.append(ctx.execution_mode)

    await nk.run_once(setup)
    await nk.run_once(setup)
    assert calls == ["run_once"]


async def test_an_init_module_may_use_nk(make_config: Factory, database_url: str, tmp_path: Any) -> None:
    from nakama_py.state import build_state
    from tests.support.modules import write_module

    write_module(tmp_path / "m", "setup.py", """
        async def init_module(ctx, logger, nk, initializer):
            await nk.storage_write([{"collection": "setup", "key": ctx.env["key"], "value": {"ok": True}}])
    """)
    state = await build_state(make_config("--runtime.path", str(tmp_path / "m"), "--runtime.env", "key=k1"),
                              database_url)
    try:
        assert state.runtime.nk is not None
        objects = await state.runtime.nk.storage_read([{"collection": "setup", "key": "k1"}])
        assert [o.value for o in objects] == ['{"ok": true}']
    finally:
        await state.close()



# --- background jobs: one holder at a time ---------------------------------------------


def test_a_background_job_runs_on_one_of_two_servers_and_moves_when_it_dies(tmp_path: Any,
                                                                           database_url: str) -> None:
    import signal

    import psycopg

    from tests.support.modules import write_module
    from tests.support.server import start_server

    tag = uuid.uuid4().hex
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS test_job_ticks (tag TEXT, pid INT, at TIMESTAMPTZ DEFAULT now())")
    write_module(tmp_path / "modules", "ticker.py", """
        import os

        async def tick(ctx, logger, nk):
            await nk.sql_exec("INSERT INTO test_job_ticks (tag, pid) VALUES (%s, %s)", [ctx.env["tag"], os.getpid()])

        def init_module(ctx, logger, nk, initializer):
            initializer.register_background_job("ticker-" + ctx.env["tag"], 0.1, tick)
    """)

    def ticks() -> list[tuple[int, datetime]]:
        with psycopg.connect(database_url, autocommit=True) as conn:
            return conn.execute("SELECT pid, at FROM test_job_ticks WHERE tag = %s ORDER BY at", (tag,)).fetchall()

    def wait_for(predicate: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out; ticks: {ticks()[-5:]}"
            time.sleep(0.1)

    args = ("--runtime.path", str(tmp_path / "modules"), "--runtime.env", f"tag={tag}")
    servers = [start_server(tmp_path / "a", database_url, *args), start_server(tmp_path / "b", database_url, *args)]
    try:
        pids = {server.process.pid for server in servers}
        wait_for(lambda: len(ticks()) >= 10)
        time.sleep(1.0)
        holders = {pid for pid, _ in ticks()}
        assert len(holders) == 1 and holders <= pids          # one server runs it, never both
        leader = next(server for server in servers if server.process.pid in holders)
        survivor = next(server for server in servers if server is not leader)
        leader.stop(signal.SIGKILL)
        killed_at = datetime.now(UTC)
        wait_for(lambda: any(pid == survivor.process.pid for pid, _ in ticks()))
        after = [pid for pid, at in ticks() if at > killed_at]
        assert set(after) == {survivor.process.pid}
        count = len(ticks())
        wait_for(lambda: len(ticks()) >= count + 5)             # and it keeps running there
    finally:
        for server in servers:
            server.stop()
