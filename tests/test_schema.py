"""The schema: Nakama's tables, columns, keys and the constraint names the code relies on."""

from __future__ import annotations

from nakama_py.state import ServerState


async def columns(state: ServerState, table: str) -> dict[str, tuple[str, str, str | None]]:
    rows = await state.db.fetch(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = %s", (table,))
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


async def constraints(state: ServerState, table: str) -> dict[str, str]:
    rows = await state.db.fetch(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass", (table,))
    return {r[0]: r[1] for r in rows}


async def test_users(state: ServerState) -> None:
    cols = await columns(state, "users")
    for name in ("id", "username", "display_name", "avatar_url", "lang_tag", "location", "timezone", "metadata",
                 "wallet", "email", "password", "facebook_id", "google_id", "gamecenter_id", "steam_id",
                 "custom_id", "facebook_instant_game_id", "apple_id", "edge_count", "create_time", "update_time",
                 "verify_time", "disable_time"):
        assert name in cols, name
    assert cols["id"][0] == "uuid"
    assert cols["username"][:2] == ("character varying", "NO")
    assert cols["lang_tag"][1] == "NO" and "'en'" in (cols["lang_tag"][2] or "")
    assert cols["metadata"][0] == "jsonb" and cols["wallet"][0] == "jsonb"
    assert cols["password"][0] == "bytea"
    assert cols["disable_time"][0] == "timestamp with time zone"
    names = await constraints(state, "users")
    for name in ("users_pkey", "users_username_key", "users_custom_id_key", "users_email_key",
                 "users_facebook_id_key", "users_apple_id_key"):
        assert name in names, name
    assert await state.db.fetchval(
        "SELECT count(*) FROM users WHERE id = '00000000-0000-0000-0000-000000000000' AND username = ''") == 1


async def test_devices_and_tombstones(state: ServerState) -> None:
    names = await constraints(state, "user_device")
    assert names["user_device_pkey"] == "PRIMARY KEY (id)"
    assert "ON DELETE CASCADE" in names["user_device_user_id_fkey"]
    assert "UNIQUE (user_id, id)" in names.values()
    names = await constraints(state, "user_tombstone")
    assert names["user_tombstone_pkey"] == "PRIMARY KEY (create_time, user_id)"


async def test_storage(state: ServerState) -> None:
    names = await constraints(state, "storage")
    assert names["storage_collection_key_user_id_key"] == "PRIMARY KEY (collection, key, user_id)"
    cols = await columns(state, "storage")
    assert cols["version"][0] == "character varying"
    assert cols["read"][0] == "smallint" and cols["write"][0] == "smallint"
    indexes = {r[0] for r in await state.db.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'storage'")}
    assert {"collection_read_user_id_key_idx", "collection_read_key_user_id_idx",
            "collection_user_id_read_key_idx", "storage_auto_index_fk_user_id_ref_users"} <= indexes


async def test_leaderboards(state: ServerState) -> None:
    cols = await columns(state, "leaderboard")
    for name in ("id", "authoritative", "sort_order", "operator", "reset_schedule", "metadata", "create_time",
                 "category", "description", "duration", "end_time", "join_required", "max_size", "max_num_score",
                 "title", "size", "start_time", "enable_ranks"):
        assert name in cols, name
    names = await constraints(state, "leaderboard_record")
    assert names["leaderboard_record_pkey"] == \
        "PRIMARY KEY (leaderboard_id, expiry_time, score, subscore, owner_id)"
    assert names["leaderboard_record_owner_id_leaderboard_id_expiry_time_key"] == \
        "UNIQUE (owner_id, leaderboard_id, expiry_time)"
    assert "ON DELETE CASCADE" in names["leaderboard_record_leaderboard_id_fkey"]
    assert any("score >= 0" in d for d in names.values())
    cols = await columns(state, "leaderboard_record")
    assert cols["score"][0] == "bigint" and cols["num_score"][0] == "integer"
    assert "1970-01-01" in (cols["expiry_time"][2] or "")


async def test_wallet_ledger_and_notifications(state: ServerState) -> None:
    assert (await constraints(state, "wallet_ledger"))["wallet_ledger_pkey"] == "PRIMARY KEY (user_id, create_time, id)"
    names = await constraints(state, "notification")
    assert names["notification_pkey"] == "PRIMARY KEY (user_id, create_time, id)"
    assert "notification_id_key" in names
    assert "user_edge_pkey" in await constraints(state, "user_edge")
