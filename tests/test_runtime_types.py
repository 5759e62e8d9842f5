"""The public surface of ``nakama_py.runtime`` holds still: every type modules see keeps its
fields (a server-side change that renames or drops one fails here), and importing the
runtime pulls in neither the server's composition root nor its HTTP layer."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import nakama_py.runtime as runtime

FIELDS: dict[str, tuple[str, ...]] = {
    "Account": ("user", "wallet", "email", "devices", "custom_id", "verify_time", "disable_time"),
    "AuthResult": ("user_id", "username", "created"),
    "ChannelMessage": ("channel_id", "message_id", "code", "sender_id", "username", "content", "create_time",
                       "update_time", "persistent", "room_name", "group_id", "user_id_one", "user_id_two"),
    "Event": ("name", "properties", "timestamp", "external", "sender"),
    "Friend": ("user", "state", "update_time", "metadata"),
    "FriendOfFriend": ("referrer", "user"),
    "Group": ("id", "creator_id", "name", "description", "avatar_url", "lang_tag", "metadata", "open", "edge_count",
              "max_count", "create_time", "update_time"),
    "GroupUser": ("user", "state"),
    "Leaderboard": ("id", "authoritative", "sort_order", "operator", "reset_schedule", "metadata", "create_time",
                    "enable_ranks", "prev_reset", "next_reset"),
    "HttpRequest": ("method", "path", "path_params", "query", "headers", "body", "_verify_session", "_http_key"),
    "HttpResponse": ("status", "body", "headers", "content_type"),
    "HttpSession": ("user_id", "username", "vars", "expires_at"),
    "LogAppend": ("sequence", "duplicate"),
    "LogBatch": ("entries", "rejected"),
    "LogEntry": ("msg_id", "data", "sequence", "deliveries", "appended_at"),
    "LeaderboardRecord": ("leaderboard_id", "owner_id", "username", "score", "subscore", "num_score",
                          "max_num_score", "metadata", "create_time", "update_time", "expiry_time", "rank"),
    "MatchListing": ("match_id", "authoritative", "label", "size", "tick_rate", "handler_name"),
    "MatchMessage": ("user_id", "session_id", "username", "node", "op_code", "data", "reliable", "receive_time_ms"),
    "MatchPresence": ("user_id", "session_id", "username", "node"),
    "MatchmakerEntry": ("ticket", "presence", "properties", "party_id", "create_time"),
    "MatchmakerPresence": ("user_id", "session_id", "username", "node"),
    "MultiUpdateResult": ("storage_acks", "wallet_results", "notifications"),
    "Notification": ("id", "user_id", "subject", "content", "code", "sender_id", "create_time", "persistent"),
    "NotificationSend": ("user_id", "subject", "content", "code", "sender_id", "persistent"),
    "RankEntry": ("rank", "owner_id", "username", "score", "subscore"),
    "RecordList": ("records", "owner_records", "next_cursor", "prev_cursor", "rank_count"),
    "StorageAck": ("collection", "key", "user_id", "version", "create_time", "update_time"),
    "StorageObject": ("collection", "key", "user_id", "value", "version", "permission_read", "permission_write",
                      "create_time", "update_time"),
    "StorageObjectId": ("collection", "key", "user_id", "version"),
    "StorageWrite": ("collection", "key", "value", "user_id", "version", "permission_read", "permission_write"),
    "TopList": ("entries", "total", "expiry_time"),
    "Tournament": ("id", "title", "description", "category", "sort_order", "operator", "size", "max_size",
                   "max_num_score", "can_enter", "start_active", "end_active", "prev_reset", "next_reset", "metadata",
                   "create_time", "start_time", "end_time", "duration", "authoritative", "join_required"),
    "User": ("id", "username", "display_name", "avatar_url", "lang_tag", "location", "timezone", "metadata",
             "facebook_id", "google_id", "gamecenter_id", "steam_id", "facebook_instant_game_id", "apple_id",
             "edge_count", "create_time", "update_time", "online"),
    "UserGroup": ("group", "state"),
    "WalletLedgerItem": ("id", "user_id", "changeset", "metadata", "create_time", "update_time"),
    "WalletUpdate": ("user_id", "changeset", "metadata"),
    "WalletUpdateResult": ("user_id", "updated", "previous"),
    "WriteReceipt": ("record", "rank", "submitted_score", "submitted_subscore", "updated", "replayed"),
}


def test_every_value_type_keeps_its_fields_and_is_frozen() -> None:
    for name, fields in FIELDS.items():
        cls = getattr(runtime, name)
        assert name in runtime.__all__
        assert tuple(f.name for f in dataclasses.fields(cls)) == fields, name
        assert cls.__dataclass_params__.frozen, name


def test_every_exported_value_type_is_pinned() -> None:
    exported = {name for name in runtime.__all__ if dataclasses.is_dataclass(getattr(runtime, name))}
    assert exported == set(FIELDS)


def test_importing_the_runtime_leaves_the_server_wiring_and_the_http_api_out() -> None:
    probe = ("import sys, nakama_py.runtime; "
             "print(sorted(m for m in sys.modules if m == 'nakama_py.state' or m.startswith('nakama_py.api')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_nk_function_and_exported_name_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "runtime.md").read_text(encoding="utf-8")
    functions = [name for name in dir(runtime.NakamaModule) if not name.startswith("_")]
    assert [name for name in functions if f"nk.{name}(" not in doc] == []
    assert [name for name in runtime.__all__ if f"`{name}`" not in doc and f"`{name}(" not in doc] == []
