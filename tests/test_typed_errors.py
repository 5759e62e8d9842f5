"""The typed errors module authors catch: the core raises them with Nakama's exact message and
code (so the wire is unchanged), and ``nakama_py.runtime`` exports every one."""

from __future__ import annotations

import inspect
import uuid

import pytest

import nakama_py.errors
import nakama_py.runtime
from nakama_py.core.console_users import ConsoleUserService
from nakama_py.errors import (
    AccountNotFound,
    Code,
    IdentifierTaken,
    LeaderboardAuthoritative,
    LeaderboardNotFound,
    LeaderboardRanksDisabled,
    NakamaError,
    StorageDeleteRejected,
    StoragePermissionDenied,
    StorageVersionConflict,
    UsernameTaken,
)
from nakama_py.runtime import NotificationSend, StorageObjectId, StorageWrite
from nakama_py.state import ServerState
from tests.support.users import TestUser


def test_the_runtime_exports_every_typed_error() -> None:
    typed = {name for name, value in vars(nakama_py.errors).items()
             if inspect.isclass(value) and issubclass(value, NakamaError)}
    assert typed <= set(nakama_py.runtime.__all__)
    for name in typed:
        assert getattr(nakama_py.runtime, name) is getattr(nakama_py.errors, name)


def expect(exc: NakamaError, kind: type[NakamaError], code: Code, message: str) -> None:
    assert type(exc) is kind
    assert (exc.code, exc.message) == (code, message)


async def test_storage_rejections(state: ServerState, alice: TestUser, bob: TestUser) -> None:
    collection = f"typed_{uuid.uuid4().hex[:8]}"
    await state.storage.write([StorageWrite(collection, "k", "{}", version="*")], caller=alice.user_id)
    with pytest.raises(StorageVersionConflict) as conflict:
        await state.storage.write([StorageWrite(collection, "k", "{}", version="*")], caller=alice.user_id)
    expect(conflict.value, StorageVersionConflict, Code.INVALID_ARGUMENT,
           "Storage write rejected - version check failed.")
    with pytest.raises(StoragePermissionDenied) as denied:
        await state.storage.write([StorageWrite(collection, "k", "{}", user_id=bob.user_id)], caller=alice.user_id)
    expect(denied.value, StoragePermissionDenied, Code.INVALID_ARGUMENT, "Storage write rejected - permission denied.")
    with pytest.raises(StorageDeleteRejected) as rejected:
        await state.storage.delete([StorageObjectId(collection, "missing")], caller=alice.user_id)
    expect(rejected.value, StorageDeleteRejected, Code.INVALID_ARGUMENT,
           "Storage delete rejected - not found, version check failed, or permission denied.")


async def test_leaderboard_errors(state: ServerState, alice: TestUser) -> None:
    with pytest.raises(LeaderboardNotFound) as missing:
        await state.leaderboards.write_record(f"none_{uuid.uuid4().hex[:8]}", alice.user_id, score=1)
    expect(missing.value, LeaderboardNotFound, Code.NOT_FOUND, "Leaderboard not found.")
    board = await state.leaderboards.create(f"auth_{uuid.uuid4().hex[:8]}", authoritative=True, enable_ranks=False)
    with pytest.raises(LeaderboardAuthoritative) as write:
        await state.leaderboards.write_record(board.id, alice.user_id, score=1, caller=alice.user_id)
    expect(write.value, LeaderboardAuthoritative, Code.PERMISSION_DENIED,
           "Leaderboard only allows authoritative score submissions.")
    with pytest.raises(LeaderboardAuthoritative) as delete:
        await state.leaderboards.delete_record(board.id, alice.user_id, caller=alice.user_id)
    expect(delete.value, LeaderboardAuthoritative, Code.PERMISSION_DENIED,
           "Leaderboard only allows authoritative score deletions.")
    with pytest.raises(LeaderboardRanksDisabled) as unranked:
        state.leaderboards.top(board.id, 10)
    assert unranked.value.code == Code.FAILED_PRECONDITION


async def test_account_errors(state: ServerState, alice: TestUser, bob: TestUser) -> None:
    with pytest.raises(UsernameTaken) as taken:
        await state.accounts.update_account(alice.user_id, username=bob.username)
    expect(taken.value, UsernameTaken, Code.ALREADY_EXISTS, "Username is already in use.")
    with pytest.raises(AccountNotFound) as missing:
        await state.accounts.get_account(str(uuid.uuid4()))
    expect(missing.value, AccountNotFound, Code.NOT_FOUND, "Account not found.")
    custom_id = f"typed-{uuid.uuid4().hex}"
    await state.accounts.link_custom(alice.user_id, custom_id)
    with pytest.raises(IdentifierTaken) as linked:
        await state.accounts.link_custom(bob.user_id, custom_id)
    expect(linked.value, IdentifierTaken, Code.ALREADY_EXISTS, "Custom ID is already in use.")


async def test_an_unknown_user_is_account_not_found(state: ServerState) -> None:
    nobody = str(uuid.uuid4())
    with pytest.raises(AccountNotFound) as wallet:
        await state.wallets.update_one(nobody, {"coins": 1})
    expect(wallet.value, AccountNotFound, Code.NOT_FOUND, "user not found")
    with pytest.raises(AccountNotFound) as notification:  # the foreign key to users, translated
        await state.notifications.send([NotificationSend(nobody, "hello", {}, 1)])
    expect(notification.value, AccountNotFound, Code.NOT_FOUND, "user not found")


async def test_a_second_console_user_of_one_name_is_already_exists(state: ServerState) -> None:
    """The console users' unique name reaches core as the db boundary's translated violation."""
    users = ConsoleUserService(state.db, state.config.console)
    name = f"op{uuid.uuid4().hex[:8]}"
    await users.create(name, "long enough password", 2)
    with pytest.raises(nakama_py.errors.NakamaError) as taken:
        await users.create(name, "another long password", 3)
    assert (taken.value.code, taken.value.message) == (Code.ALREADY_EXISTS, "Username is already in use.")
    await users.delete(name)
