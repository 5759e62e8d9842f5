"""Leaderboard routes over HTTP: Nakama's messages and codes, limits and defaults,
authoritative boards, operators, ranks, cursors, reset buckets and hooks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.core.leaderboard_types import from_unix
from nakama_py.db import record_partitions
from nakama_py.errors import Code, NakamaError, permission_denied
from nakama_py.route_hooks import Message
from nakama_py.state import ServerState, build_state
from nakama_py.wire.request_view import RequestView
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

Client = TestClient[Request, Application]
Users = Callable[..., Any]
NOT_FOUND = {"code": 5, "message": "Leaderboard not found."}


def new_id(prefix: str = "lb") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def call(client: Client, method: str, path: str, user: TestUser | None = None,
               **kwargs: Any) -> tuple[int, Any]:
    response = await client.request(method, path, headers=user.auth if user else {}, **kwargs)
    return response.status, await response.json()


async def write(client: Client, board: str, user: TestUser, body: Any) -> tuple[int, Any]:
    return await call(client, "POST", f"/v2/leaderboard/{board}", user, json=body)


async def users(factory: Users, count: int) -> list[TestUser]:
    return [await factory() for _ in range(count)]


# --- write ---------------------------------------------------------------------------


async def test_write_returns_the_record_in_nakama_shape(client: Client, state: ServerState,
                                                        user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board)
    user = await user_factory()
    status, body = await write(client, board, user, {"score": "100", "subscore": 7, "metadata": '{"car": "red"}'})
    assert status == 200
    assert body.pop("create_time").endswith("Z") and body.pop("update_time").endswith("Z")
    assert body == {"leaderboard_id": board, "owner_id": user.user_id, "username": user.username, "score": "100",
                    "subscore": "7", "num_score": 1, "max_num_score": 1000000, "metadata": '{"car": "red"}',
                    "rank": "1"}


async def test_write_errors(client: Client, state: ServerState, user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board)
    user = await user_factory()
    assert await write(client, new_id(), user, {"score": 1}) == (404, NOT_FOUND)
    assert await call(client, "POST", f"/v2/leaderboard/{board}", user, data=b"") == (
        400, {"code": 3, "message": "Invalid input, record score value is required."})
    for metadata in ("[1, 2]", "not json", "  ", "7", '"text"'):
        assert await write(client, board, user, {"score": 1, "metadata": metadata}) == (
            400, {"code": 3, "message": "Metadata value must be JSON, if provided."})
    # A negative score fails the database CHECK: Nakama answers 500 (the runtime checks first).
    assert await write(client, board, user, {"score": -1}) == (
        500, {"code": 13, "message": "Error writing score to leaderboard."})
    assert await write(client, board, user, {"score": 1, "operator": 9}) == (
        500, {"code": 13, "message": "Error writing score to leaderboard."})
    status, body = await write(client, board, user, {"score": 1, "operator": "FASTEST"})
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT
    status, body = await write(client, board, user, {"score": "lots"})
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT
    status, _ = await call(client, "POST", f"/v2/leaderboard/{board}", json={"score": 1})
    assert status == 401


async def test_an_empty_object_writes_zero_and_a_wrapped_record_is_ignored(client: Client, state: ServerState,
                                                                         user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board, operator="set")
    user = await user_factory()
    status, body = await write(client, board, user, {})
    assert status == 200 and "score" not in body and body["num_score"] == 1
    # The body is the record itself: {"record": {...}} is an unknown field, so the score is 0.
    status, body = await write(client, board, user, {"record": {"score": 50}})
    assert status == 200 and "score" not in body and body["num_score"] == 1


async def test_authoritative_boards_refuse_client_writes_and_deletes(client: Client, state: ServerState,
                                                                     user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board, authoritative=True)
    user = await user_factory()
    assert await write(client, board, user, {"score": 1}) == (
        403, {"code": 7, "message": "Leaderboard only allows authoritative score submissions."})
    assert await call(client, "DELETE", f"/v2/leaderboard/{board}", user) == (
        403, {"code": 7, "message": "Leaderboard only allows authoritative score deletions."})
    # The runtime writes; clients may still read.
    await state.leaderboards.write_record(board, user.user_id, username=user.username, score=5)
    status, body = await call(client, "GET", f"/v2/leaderboard/{board}?limit=10", user)
    assert status == 200 and [r["score"] for r in body["records"]] == ["5"]


async def test_best_takes_each_column_independently(client: Client, state: ServerState,
                                                    user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board, operator="best")
    user = await user_factory()
    await write(client, board, user, {"score": 10, "subscore": 1})
    _, body = await write(client, board, user, {"score": 1, "subscore": 20})
    assert (body["score"], body["subscore"], body["num_score"]) == ("10", "20", 2)
    _, body = await write(client, board, user, {"score": 5, "subscore": 5, "metadata": '{"x": 1}'})
    assert (body["score"], body["subscore"], body["num_score"], body["metadata"]) == ("10", "20", 2, "{}")


async def test_ascending_best_keeps_the_lower_value(client: Client, state: ServerState, user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board, operator="best", sort_order="asc")
    user = await user_factory()
    await write(client, board, user, {"score": 10, "subscore": 1})
    _, body = await write(client, board, user, {"score": 1, "subscore": 20})
    assert (body["score"], body["subscore"]) == ("1", "1")


async def test_set_with_identical_values_changes_nothing(client: Client, state: ServerState,
                                                         user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board, operator="set")
    user = await user_factory()
    await write(client, board, user, {"score": 10, "subscore": 1, "metadata": '{"a": 1}'})
    _, body = await write(client, board, user, {"score": 10, "subscore": 1, "metadata": '{"a": 2}'})
    assert (body["num_score"], body["metadata"]) == (1, '{"a": 1}')
    _, body = await write(client, board, user, {"score": 3, "subscore": 1})
    assert (body["score"], body["num_score"], body["metadata"]) == ("3", 2, '{"a": 1}')


async def test_incr_and_decr(client: Client, state: ServerState, user_factory: Users) -> None:
    incr, decr = new_id(), new_id()
    await state.leaderboards.create(incr, operator="incr")
    await state.leaderboards.create(decr, operator="decr")
    user = await user_factory()
    await write(client, incr, user, {"score": 4, "subscore": 1})
    _, body = await write(client, incr, user, {"score": 6, "subscore": 2})
    assert (body["score"], body["subscore"], body["num_score"]) == ("10", "3", 2)
    # decr starts new records at 0, and clamps at 0.
    _, body = await write(client, decr, user, {"score": 5})
    assert ("score" in body, body["num_score"]) == (False, 1)
    await state.leaderboards.write_record(decr, user.user_id, score=7, override_operator=2)  # set
    _, body = await write(client, decr, user, {"score": 3})
    assert body["score"] == "4"
    _, body = await write(client, decr, user, {"score": 9})
    assert "score" not in body and body["num_score"] == 4


async def test_operator_override_by_number_or_name(client: Client, state: ServerState, user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board, operator="best")
    user = await user_factory()
    await write(client, board, user, {"score": 10})
    _, body = await write(client, board, user, {"score": 3, "operator": "SET"})
    assert body["score"] == "3"
    _, body = await write(client, board, user, {"score": 2, "operator": 3})  # INCREMENT
    assert body["score"] == "5"
    _, body = await write(client, board, user, {"score": 1, "operator": "NO_OVERRIDE"})  # the board's best
    assert body["score"] == "5"


# --- list ----------------------------------------------------------------------------


async def test_list_limits_and_defaults(client: Client, state: ServerState, user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board)
    people = await users(user_factory, 3)
    for score, person in enumerate(people, start=1):
        await write(client, board, person, {"score": score})
    me = people[0]
    for limit in ("0", "1001", "-3"):
        assert await call(client, "GET", f"/v2/leaderboard/{board}?limit={limit}", me) == (
            400, {"code": 3, "message": "Invalid limit - limit must be between 1 and 1000."})
    # No limit and no owners: one record.
    status, body = await call(client, "GET", f"/v2/leaderboard/{board}?", me)
    assert status == 200 and len(body["records"]) == 1 and body["rank_count"] == "3" and "next_cursor" in body
    # No limit with owners: no page at all, only the owners' records.
    status, body = await call(client, "GET", f"/v2/leaderboard/{board}?owner_ids={me.user_id}&", me)
    assert status == 200 and "records" not in body
    assert [(r["owner_id"], r["rank"]) for r in body["owner_records"]] == [(me.user_id, "3")]
    assert await call(client, "GET", f"/v2/leaderboard/{board}?owner_ids=nope&limit=5", me) == (
        400, {"code": 3, "message": "One or more owner IDs are invalid."})
    assert await call(client, "GET", f"/v2/leaderboard/{new_id()}?limit=5", me) == (404, NOT_FOUND)
    status, body = await call(client, "GET", f"/v2/leaderboard/{board}?limit=1000", me)
    assert status == 200 and len(body["records"]) == 3 and "next_cursor" not in body


async def test_owner_records_are_in_board_order_with_ranks(client: Client, state: ServerState,
                                                           user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board, sort_order="asc")
    people = await users(user_factory, 4)
    for score, person in zip((40, 10, 30, 20), people, strict=True):
        await write(client, board, person, {"score": score})
    stranger = str(uuid.uuid4())
    query = "&".join(f"owner_ids={p.user_id}" for p in people[:3]) + f"&owner_ids={stranger}"
    _, body = await call(client, "GET", f"/v2/leaderboard/{board}?limit=2&{query}", people[0])
    assert [(r["score"], r["rank"]) for r in body["records"]] == [("10", "1"), ("20", "2")]
    assert [(r["score"], r["rank"]) for r in body["owner_records"]] == [("10", "1"), ("30", "3"), ("40", "4")]


async def test_cursors_walk_forward_and_back_with_positional_ranks(client: Client, state: ServerState,
                                                                   user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board)
    people = await users(user_factory, 7)
    for index, person in enumerate(people):
        await write(client, board, person, {"score": index // 2})  # ties: the owner id decides
    me = people[0]
    _, everything = await call(client, "GET", f"/v2/leaderboard/{board}?limit=100", me)
    order = [r["owner_id"] for r in everything["records"]]
    assert [r["rank"] for r in everything["records"]] == [str(i) for i in range(1, 8)]
    pages = []
    _, page = await call(client, "GET", f"/v2/leaderboard/{board}?limit=3", me)
    assert "prev_cursor" not in page
    pages.append(page)
    while "next_cursor" in page:
        _, page = await call(client, "GET", f"/v2/leaderboard/{board}?limit=3&cursor={page['next_cursor']}", me)
        pages.append(page)
    walked = [(r["owner_id"], r["rank"]) for p in pages for r in p["records"]]
    assert walked == [(owner, str(i)) for i, owner in enumerate(order, start=1)]
    back: list[Any] = []
    page = pages[-1]
    while "prev_cursor" in page:
        _, page = await call(client, "GET", f"/v2/leaderboard/{board}?limit=3&cursor={page['prev_cursor']}", me)
        back.insert(0, page)
    assert [(r["owner_id"], r["rank"]) for r in back[0]["records"]] == walked[:3]
    assert [[r["rank"] for r in p["records"]] for p in back] == [["1", "2", "3"], ["4", "5", "6"]]


async def test_bad_cursors_are_400_never_500(client: Client, state: ServerState, user_factory: Users) -> None:
    board, other = new_id(), new_id()
    await state.leaderboards.create(board)
    await state.leaderboards.create(other)
    people = await users(user_factory, 3)
    for person in people:
        await write(client, board, person, {"score": 1})
        await write(client, other, person, {"score": 1})
    me = people[0]
    _, page = await call(client, "GET", f"/v2/leaderboard/{board}?limit=1", me)
    cursor = page["next_cursor"]
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    invalid = (400, {"code": 3, "message": "Cursor is invalid or expired."})
    for bad in (flipped, "garbage", "%00%ff", "A" * 5000, cursor[:10]):
        assert await call(client, "GET", f"/v2/leaderboard/{board}?limit=1&cursor={bad}", me) == invalid
    assert await call(client, "GET", f"/v2/leaderboard/{other}?limit=1&cursor={cursor}", me) == invalid
    status, _ = await call(client, "GET", f"/v2/leaderboard/{board}?limit=1&cursor={cursor}", me)
    assert status == 200


async def test_past_buckets_are_read_with_expiry_and_cursors_stay_in_their_bucket(
        client: Client, state: ServerState, user_factory: Users) -> None:
    board = new_id()
    created = await state.leaderboards.create(board, reset_schedule="*/5 * * * *", sort_order="asc")
    current = created.next_reset()
    past = current - 600
    people = await users(user_factory, 3)
    await record_partitions.ensure(state.db, from_unix(past))  # written around the server: make its day
    for score, person in enumerate(people, start=1):
        await state.db.execute(
            "INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, expiry_time)"
            " VALUES (%s, %s, %s, %s, %s)", (board, person.user_id, person.username, score, from_unix(past)))
    me = people[0]
    _, body = await write(client, board, me, {"score": 99})
    assert body["expiry_time"] == from_unix(current).strftime("%Y-%m-%dT%H:%M:%SZ")
    _, now_page = await call(client, "GET", f"/v2/leaderboard/{board}?limit=10", me)
    assert [r["score"] for r in now_page["records"]] == ["99"]
    _, old_page = await call(client, "GET", f"/v2/leaderboard/{board}?limit=2&expiry={past}", me)
    assert [(r["score"], r["rank"]) for r in old_page["records"]] == [("1", "1"), ("2", "2")]
    assert old_page["records"][0]["expiry_time"] == from_unix(past).strftime("%Y-%m-%dT%H:%M:%SZ")
    cursor = old_page["next_cursor"]
    _, rest = await call(client, "GET", f"/v2/leaderboard/{board}?limit=2&expiry={past}&cursor={cursor}", me)
    assert [(r["score"], r["rank"]) for r in rest["records"]] == [("3", "3")]
    # The cursor belongs to the past bucket: on the current one (or another) it is refused.
    invalid = (400, {"code": 3, "message": "Cursor is invalid or expired."})
    assert await call(client, "GET", f"/v2/leaderboard/{board}?limit=2&cursor={cursor}", me) == invalid
    assert await call(client, "GET", f"/v2/leaderboard/{board}?limit=2&expiry={past - 300}&cursor={cursor}",
                      me) == invalid
    # A bucket that cannot exist is simply empty.
    assert await call(client, "GET", f"/v2/leaderboard/{board}?limit=2&expiry={2**62}", me) == (200, {})
    # Deleting only touches the current bucket.
    await call(client, "DELETE", f"/v2/leaderboard/{board}", me)
    _, old_page = await call(client, "GET", f"/v2/leaderboard/{board}?limit=10&expiry={past}", me)
    assert len(old_page["records"]) == 3


# --- around owner ----------------------------------------------------------------------


async def test_around_owner_window_and_messages(client: Client, state: ServerState, user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board)
    people = await users(user_factory, 9)
    for score, person in enumerate(people):
        await write(client, board, person, {"score": score * 10})
    me = people[4]  # score 40, rank 5
    path = f"/v2/leaderboard/{board}/owner/{me.user_id}"
    _, body = await call(client, "GET", f"{path}?limit=5", me)
    assert [(r["score"], r["rank"]) for r in body["records"]] == [
        ("60", "3"), ("50", "4"), ("40", "5"), ("30", "6"), ("20", "7")]
    assert body["rank_count"] == "9" and "prev_cursor" in body and "next_cursor" in body
    _, after = await call(client, "GET", f"{path}?limit=5&cursor={body['next_cursor']}", me)
    assert [(r.get("score", "0"), r["rank"]) for r in after["records"]] == [("10", "8"), ("0", "9")]
    _, before = await call(client, "GET", f"{path}?limit=5&cursor={body['prev_cursor']}", me)
    assert [(r["score"], r["rank"]) for r in before["records"]] == [("80", "1"), ("70", "2")]
    # Default limit 1: the owner alone. Near the top the window slides down.
    _, body = await call(client, "GET", f"{path}?", me)
    assert [r["score"] for r in body["records"]] == ["40"]
    _, body = await call(client, "GET", f"/v2/leaderboard/{board}/owner/{people[8].user_id}?limit=4", me)
    assert [r["rank"] for r in body["records"]] == ["1", "2", "3", "4"]
    for limit in ("0", "101"):
        assert await call(client, "GET", f"{path}?limit={limit}", me) == (
            400, {"code": 3, "message": "Invalid limit - limit must be between 1 and 100."})
    assert await call(client, "GET", f"/v2/leaderboard/{board}/owner/nobody", me) == (
        400, {"code": 3, "message": "Invalid owner ID provided."})
    assert await call(client, "GET", f"/v2/leaderboard/{new_id()}/owner/{me.user_id}", me) == (404, NOT_FOUND)
    # An owner without a record: an empty list.
    assert await call(client, "GET", f"/v2/leaderboard/{board}/owner/{uuid.uuid4()}?limit=3", me) == (200, {})
    assert await call(client, "GET", f"{path}?cursor=junk", me) == (
        400, {"code": 3, "message": "Cursor is invalid or expired."})


# --- delete ----------------------------------------------------------------------------


async def test_delete_removes_the_callers_record(client: Client, state: ServerState, user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board)
    me, other = await users(user_factory, 2)
    await write(client, board, me, {"score": 5})
    await write(client, board, other, {"score": 3})
    assert await call(client, "DELETE", f"/v2/leaderboard/{board}", me) == (200, {})
    assert await call(client, "DELETE", f"/v2/leaderboard/{board}", me) == (200, {})  # nothing left: still {}
    _, body = await call(client, "GET", f"/v2/leaderboard/{board}?limit=10&owner_ids={other.user_id}", me)
    assert [r["owner_id"] for r in body["records"]] == [other.user_id]
    assert body["owner_records"][0]["rank"] == "1" and body["rank_count"] == "1"
    assert await call(client, "DELETE", f"/v2/leaderboard/{new_id()}", me) == (404, NOT_FOUND)


# --- ranks switched off ------------------------------------------------------------------


async def test_boards_without_ranks_report_none(client: Client, state: ServerState, user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board, enable_ranks=False)
    me, other = await users(user_factory, 2)
    _, body = await write(client, board, me, {"score": 5})
    assert "rank" not in body
    await write(client, board, other, {"score": 9})
    _, body = await call(client, "GET", f"/v2/leaderboard/{board}?limit=10&owner_ids={me.user_id}", me)
    assert [r["rank"] for r in body["records"]] == ["1", "2"]  # page ranks are positional regardless
    assert "rank" not in body["owner_records"][0] and "rank_count" not in body
    _, body = await call(client, "GET", f"/v2/leaderboard/{board}/owner/{me.user_id}?limit=3", me)
    assert [("rank" in r) for r in body["records"]] == [False, False]


@pytest.mark.parametrize("blacklist", ["*", "BOARD"])
async def test_blacklisted_rank_cache(blacklist: str, make_config: Callable[..., Config], database_url: str,
                                      aiohttp_client: Callable[..., Any]) -> None:
    board = new_id()
    state = await build_state(make_config("--leaderboard.blacklist_rank_cache", blacklist.replace("BOARD", board)),
                              database_url)
    try:
        client = await aiohttp_client(WireTestServer(build_app(state)))
        await state.leaderboards.create(board)
        me = await create_user(state)
        _, body = await write(client, board, me, {"score": 5})
        assert body["score"] == "5" and "rank" not in body
        _, body = await call(client, "GET", f"/v2/leaderboard/{board}?limit=10&owner_ids={me.user_id}", me)
        assert body["records"][0]["rank"] == "1" and "rank" not in body["owner_records"][0]
        assert "rank_count" not in body
    finally:
        await state.close()


# --- hooks -------------------------------------------------------------------------------


class Hooks:
    """A hook runner like the runtime's: rewrites writes, refuses deletes, records replies."""

    def __init__(self) -> None:
        self.after: list[tuple[str, Any]] = []

    def has_before(self, name: str) -> bool:
        return name in ("WriteLeaderboardRecord", "DeleteLeaderboardRecord", "ListLeaderboardRecords")

    def has_after(self, name: str) -> bool:
        return True

    async def run_before(self, name: str, request: RequestView, message: Message) -> Message:
        if name == "WriteLeaderboardRecord":
            message["record"]["score"] = 77
        elif name == "DeleteLeaderboardRecord":
            raise permission_denied("No deleting today.")
        elif name == "ListLeaderboardRecords":
            message["limit"] = 1
        return message

    async def run_after(self, name: str, request: RequestView, message: Message, reply: Any) -> None:
        self.after.append((name, reply))


async def test_requests_go_through_before_and_after_hooks(client: Client, state: ServerState,
                                                          user_factory: Users) -> None:
    board = new_id()
    await state.leaderboards.create(board)
    hooks = Hooks()
    state.hooks = hooks
    me, other = await users(user_factory, 2)
    _, body = await write(client, board, me, {"score": 1})
    assert body["score"] == "77"
    await write(client, board, other, {"score": 2})
    assert await call(client, "DELETE", f"/v2/leaderboard/{board}", me) == (
        403, {"code": 7, "message": "No deleting today."})
    _, body = await call(client, "GET", f"/v2/leaderboard/{board}?limit=50", me)
    assert len(body["records"]) == 1
    await call(client, "GET", f"/v2/leaderboard/{board}/owner/{me.user_id}", me)
    names = [name for name, _ in hooks.after]
    assert names == ["WriteLeaderboardRecord", "WriteLeaderboardRecord", "ListLeaderboardRecords",
                     "ListLeaderboardRecordsAroundOwner"]
    assert hooks.after[0][1]["score"] == "77"


async def test_runtime_checks_arguments(state: ServerState) -> None:
    board = new_id()
    await state.leaderboards.create(board)
    with pytest.raises(NakamaError, match="owner ID"):
        await state.leaderboards.write_record(board, "not-a-uuid", score=1)
    with pytest.raises(NakamaError, match="score to be >= 0"):
        await state.leaderboards.write_record(board, str(uuid.uuid4()), score=-1)
    with pytest.raises(NakamaError, match="CRON"):
        await state.leaderboards.create(new_id(), reset_schedule="every tuesday")
    with pytest.raises(NakamaError, match="0-10000"):
        await state.leaderboards.list_records(board, limit=10001)


# --- boards (runtime only) ------------------------------------------------------------------


async def test_boards_create_idempotently_list_get_and_delete_with_records(state: ServerState) -> None:
    leaderboards = state.leaderboards
    first = await leaderboards.create(new_id("bd"), sort_order="asc", operator="incr", metadata={"track": 1},
                                      reset_schedule="0 0 * * *")
    assert (first.sort_order, first.operator, first.metadata, first.enable_ranks) == (0, 2, {"track": 1}, True)
    again = await leaderboards.create(first.id, sort_order="desc", operator="set")
    assert again == first  # the existing board, unchanged
    assert first.next_reset() % 86400 == 0 and 0 < first.next_reset() - first.create_time.timestamp() <= 86400
    assert first.prev_reset() == 0  # no reset since it was created
    assert first.prev_reset(first.next_reset() + 5) == first.next_reset()
    ids = [(await leaderboards.create(new_id("bd"))).id for _ in range(3)]
    assert [b.id for b in await leaderboards.get([ids[2], "missing", ids[0]])] == [ids[2], ids[0]]
    seen: list[str] = []
    page, cursor = await leaderboards.list_boards(2)
    seen += [b.id for b in page]
    while cursor:
        page, cursor = await leaderboards.list_boards(2, cursor)
        seen += [b.id for b in page]
    assert seen.index(first.id) < seen.index(ids[0]) < seen.index(ids[1]) < seen.index(ids[2])
    with pytest.raises(NakamaError, match="cursor"):
        await leaderboards.list_boards(2, "forged")
    with pytest.raises(NakamaError, match="1-100"):
        await leaderboards.list_boards(0)
    await leaderboards.write_record(ids[0], str(uuid.uuid4()), score=3)
    await leaderboards.delete(ids[0])
    await leaderboards.delete(ids[0])  # idempotent
    assert await leaderboards.get([ids[0]]) == []
    assert await state.db.fetchval("SELECT count(*) FROM leaderboard_record WHERE leaderboard_id = %s",
                                   (ids[0],)) == 0
    with pytest.raises(NakamaError, match="Leaderboard not found"):
        await leaderboards.write_record(ids[0], str(uuid.uuid4()), score=3)


async def test_cursor_from_rank_and_disabling_ranks(state: ServerState) -> None:
    leaderboards = state.leaderboards
    board = await leaderboards.create(new_id())
    owners = [str(uuid.uuid4()) for _ in range(5)]
    for score, owner in enumerate(owners):
        await leaderboards.write_record(board.id, owner, score=score)
    cursor = await leaderboards.cursor_from_rank(board.id, 3)
    page = await leaderboards.list_records(board.id, limit=2, cursor=cursor)
    assert [(r.score, r.rank) for r in page.records] == [(2, 3), (1, 4)]
    assert await leaderboards.cursor_from_rank(board.id, 1) == ""
    await leaderboards.disable_ranks(board.id)
    record = await leaderboards.write_record(board.id, owners[0], score=10)
    assert record.rank == 0
    assert (await leaderboards.list_records(board.id, owner_ids=owners[:1])).rank_count == 0
    with pytest.raises(NakamaError, match="ranks disabled"):
        leaderboards.top(board.id, 3)
