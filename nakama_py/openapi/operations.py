"""Every route of the HTTP API (socket.port): method, path, auth, parameters, body and reply.

The router test (tests/unit/test_openapi.py) fails on a route served and missing here, or described and not
served; ``nakama-py openapi`` renders this table as docs/openapi.json."""

from __future__ import annotations

from dataclasses import dataclass, field

from nakama_py.openapi.schema import BOOL, EMPTY, INT32, INT64, STRING, Schema, array, message, ref

# Who may call: a session token, the server key (Basic), the runtime's http key or a session, or anyone.
BEARER = "bearer"
SERVER_KEY = "server_key"
RPC_AUTH = "rpc"
NO_AUTH = "none"


@dataclass(frozen=True)
class Param:
    name: str
    schema: Schema


def query(name: str, schema: Schema) -> Param:
    return Param(name, schema)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str  # Nakama's gRPC method name
    auth: str
    query: tuple[Param, ...] = ()
    body: Schema | None = None
    reply: Schema = field(default_factory=lambda: dict(EMPTY))
    head: bool = True  # a GET route also answers HEAD (aiohttp's default)
    rpc: bool = False  # errors carry ``error`` besides code and message
    upgrade: bool = False  # a WebSocket upgrade: 101 on success


# ``GET /``: 200 with no body (load balancers' probe).
NO_BODY: Schema = {}
# The POST body of an RPC without ?unwrap: a JSON string holding the payload, or a JSON object taken as its text.
RPC_PAYLOAD: Schema = {"oneOf": [STRING, {"type": "object"}]}


OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/", "Root", NO_AUTH, reply=NO_BODY),
    Operation("GET", "/healthcheck", "Healthcheck", NO_AUTH),
    Operation("GET", "/v2/account", "GetAccount", BEARER,
              reply=ref("Account")),
    Operation("DELETE", "/v2/account", "DeleteAccount", BEARER),
    Operation("PUT", "/v2/account", "UpdateAccount", BEARER,
              body=ref("UpdateAccountRequest")),
    Operation("POST", "/v2/account/authenticate/apple", "AuthenticateApple", SERVER_KEY,
              query=(query("create", BOOL), query("username", STRING)), body=ref("AccountApple"), reply=ref("Session")),
    Operation("POST", "/v2/account/authenticate/custom", "AuthenticateCustom", SERVER_KEY,
              query=(query("create", BOOL), query("username", STRING)),
              body=ref("AccountCustom"), reply=ref("Session")),
    Operation("POST", "/v2/account/authenticate/device", "AuthenticateDevice", SERVER_KEY,
              query=(query("create", BOOL), query("username", STRING)),
              body=ref("AccountDevice"), reply=ref("Session")),
    Operation("POST", "/v2/account/authenticate/email", "AuthenticateEmail", SERVER_KEY,
              query=(query("create", BOOL), query("username", STRING)), body=ref("AccountEmail"), reply=ref("Session")),
    Operation("POST", "/v2/account/authenticate/facebook", "AuthenticateFacebook", SERVER_KEY,
              query=(query("create", BOOL), query("username", STRING), query("sync", BOOL)),
              body=ref("AccountFacebook"), reply=ref("Session")),
    Operation("POST", "/v2/account/authenticate/facebookinstantgame", "AuthenticateFacebookInstantGame", SERVER_KEY,
              query=(query("create", BOOL), query("username", STRING)),
              body=ref("AccountFacebookInstantGame"), reply=ref("Session")),
    Operation("POST", "/v2/account/authenticate/gamecenter", "AuthenticateGameCenter", SERVER_KEY,
              query=(query("create", BOOL), query("username", STRING)),
              body=ref("AccountGameCenter"), reply=ref("Session")),
    Operation("POST", "/v2/account/authenticate/google", "AuthenticateGoogle", SERVER_KEY,
              query=(query("create", BOOL), query("username", STRING)),
              body=ref("AccountGoogle"), reply=ref("Session")),
    Operation("POST", "/v2/account/authenticate/steam", "AuthenticateSteam", SERVER_KEY,
              query=(query("create", BOOL), query("username", STRING), query("sync", BOOL)),
              body=ref("AccountSteam"), reply=ref("Session")),
    Operation("POST", "/v2/account/link/custom", "LinkCustom", BEARER,
              body=ref("AccountCustom")),
    Operation("POST", "/v2/account/link/device", "LinkDevice", BEARER,
              body=ref("AccountDevice")),
    Operation("POST", "/v2/account/link/email", "LinkEmail", BEARER,
              body=ref("AccountEmail")),
    Operation("POST", "/v2/account/session/refresh", "SessionRefresh", SERVER_KEY,
              body=ref("SessionRefreshRequest"), reply=ref("Session")),
    Operation("POST", "/v2/account/unlink/custom", "UnlinkCustom", BEARER,
              body=ref("AccountCustom")),
    Operation("POST", "/v2/account/unlink/device", "UnlinkDevice", BEARER,
              body=ref("AccountDevice")),
    Operation("POST", "/v2/account/unlink/email", "UnlinkEmail", BEARER,
              body=ref("AccountEmail")),
    Operation("GET", "/v2/channel/{channel_id}", "ListChannelMessages", BEARER,
              query=(query("limit", INT32), query("forward", BOOL), query("cursor", STRING)),
              reply=ref("ChannelMessageList")),
    Operation("POST", "/v2/event", "Event", BEARER,
              body=ref("Event")),
    Operation("GET", "/v2/friend", "ListFriends", BEARER,
              query=(query("limit", INT32), query("state", INT32), query("cursor", STRING)), reply=ref("FriendList")),
    Operation("DELETE", "/v2/friend", "DeleteFriends", BEARER,
              query=(query("ids", array(STRING)), query("usernames", array(STRING)))),
    Operation("POST", "/v2/friend", "AddFriends", BEARER,
              query=(query("ids", array(STRING)), query("usernames", array(STRING)), query("metadata", STRING))),
    Operation("POST", "/v2/friend/block", "BlockFriends", BEARER,
              query=(query("ids", array(STRING)), query("usernames", array(STRING)))),
    Operation("POST", "/v2/friend/facebook", "ImportFacebookFriends", BEARER,
              query=(query("reset", BOOL),), body=ref("AccountFacebook")),
    Operation("GET", "/v2/friend/friends", "ListFriendsOfFriends", BEARER,
              query=(query("limit", INT32), query("cursor", STRING)), reply=ref("FriendsOfFriendsList")),
    Operation("POST", "/v2/friend/steam", "ImportSteamFriends", BEARER,
              query=(query("reset", BOOL),), body=ref("AccountSteam")),
    Operation("GET", "/v2/group", "ListGroups", BEARER,
              query=(query("name", STRING), query("cursor", STRING), query("limit", INT32),
                     query("lang_tag", STRING), query("members", INT32), query("open", BOOL)),
              reply=ref("GroupList")),
    Operation("POST", "/v2/group", "CreateGroup", BEARER,
              body=ref("CreateGroupRequest"), reply=ref("Group")),
    Operation("DELETE", "/v2/group/{group_id}", "DeleteGroup", BEARER),
    Operation("PUT", "/v2/group/{group_id}", "UpdateGroup", BEARER,
              body=message(name=STRING, description=STRING, lang_tag=STRING, avatar_url=STRING, open=BOOL)),
    Operation("POST", "/v2/group/{group_id}/add", "AddGroupUsers", BEARER,
              query=(query("user_ids", array(STRING)),)),
    Operation("POST", "/v2/group/{group_id}/ban", "BanGroupUsers", BEARER,
              query=(query("user_ids", array(STRING)),)),
    Operation("POST", "/v2/group/{group_id}/demote", "DemoteGroupUsers", BEARER,
              query=(query("user_ids", array(STRING)),)),
    Operation("POST", "/v2/group/{group_id}/join", "JoinGroup", BEARER),
    Operation("POST", "/v2/group/{group_id}/kick", "KickGroupUsers", BEARER,
              query=(query("user_ids", array(STRING)),)),
    Operation("POST", "/v2/group/{group_id}/leave", "LeaveGroup", BEARER),
    Operation("POST", "/v2/group/{group_id}/promote", "PromoteGroupUsers", BEARER,
              query=(query("user_ids", array(STRING)),)),
    Operation("GET", "/v2/group/{group_id}/user", "ListGroupUsers", BEARER,
              query=(query("limit", INT32), query("state", INT32), query("cursor", STRING)),
              reply=ref("GroupUserList")),
    Operation("GET", "/v2/leaderboard/{leaderboard_id}", "ListLeaderboardRecords", BEARER,
              query=(query("owner_ids", array(STRING)), query("limit", INT32), query("cursor", STRING),
                     query("expiry", INT64)),
              reply=ref("LeaderboardRecordList")),
    Operation("DELETE", "/v2/leaderboard/{leaderboard_id}", "DeleteLeaderboardRecord", BEARER),
    Operation("POST", "/v2/leaderboard/{leaderboard_id}", "WriteLeaderboardRecord", BEARER,
              body=ref("WriteLeaderboardRecordRequestLeaderboardRecordWrite"), reply=ref("LeaderboardRecord")),
    Operation("GET", "/v2/leaderboard/{leaderboard_id}/owner/{owner_id}", "ListLeaderboardRecordsAroundOwner", BEARER,
              query=(query("limit", INT64), query("expiry", INT64), query("cursor", STRING)),
              reply=ref("LeaderboardRecordList")),
    Operation("GET", "/v2/match", "ListMatches", BEARER,
              query=(query("limit", INT32), query("authoritative", BOOL), query("label", STRING),
                     query("min_size", INT32), query("max_size", INT32), query("query", STRING)),
              reply=ref("MatchList")),
    Operation("GET", "/v2/matchmaker/stats", "GetMatchmakerStats", BEARER, reply=ref("MatchmakerStats")),
    Operation("GET", "/v2/notification", "ListNotifications", BEARER,
              query=(query("limit", INT32), query("cacheable_cursor", STRING)), reply=ref("NotificationList")),
    Operation("DELETE", "/v2/notification", "DeleteNotifications", BEARER,
              query=(query("ids", array(STRING)),)),
    # With ?unwrap (any value) the POST body and the reply are the raw payload; without it the body is a JSON
    # string holding the payload (or a JSON object, taken as its text) and the reply is {"payload": ...}.
    Operation("GET", "/v2/party", "ListParties", BEARER,
              query=(query("limit", INT32), query("open", BOOL), query("query", STRING), query("cursor", STRING)),
              reply=ref("PartyList")),
    Operation("GET", "/v2/rpc/{id}", "RpcFunc2", RPC_AUTH,
              query=(query("payload", STRING), query("http_key", STRING), query("unwrap", STRING)), reply=ref("Rpc"),
              head=False, rpc=True),
    Operation("POST", "/v2/rpc/{id}", "RpcFunc", RPC_AUTH,
              query=(query("http_key", STRING), query("unwrap", STRING)), body=RPC_PAYLOAD, reply=ref("Rpc"), rpc=True),
    Operation("POST", "/v2/session/logout", "SessionLogout", BEARER,
              body=ref("SessionLogoutRequest")),
    Operation("POST", "/v2/storage", "ReadStorageObjects", BEARER,
              body=ref("ReadStorageObjectsRequest"), reply=ref("StorageObjects")),
    Operation("PUT", "/v2/storage", "WriteStorageObjects", BEARER,
              body=ref("WriteStorageObjectsRequest"), reply=ref("StorageObjectAcks")),
    Operation("PUT", "/v2/storage/delete", "DeleteStorageObjects", BEARER,
              body=ref("DeleteStorageObjectsRequest")),
    Operation("GET", "/v2/storage/{collection}", "ListStorageObjects", BEARER,
              query=(query("user_id", STRING), query("limit", INT32), query("cursor", STRING)),
              reply=ref("StorageObjectList")),
    Operation("GET", "/v2/storage/{collection}/{user_id}", "ListStorageObjects2", BEARER,
              query=(query("limit", INT32), query("cursor", STRING)), reply=ref("StorageObjectList")),
    Operation("GET", "/v2/tournament", "ListTournaments", BEARER,
              query=(query("category_start", INT64), query("category_end", INT64), query("start_time", INT64),
                     query("end_time", INT64), query("limit", INT32), query("cursor", STRING)),
              reply=ref("TournamentList")),
    Operation("GET", "/v2/tournament/{tournament_id}", "ListTournamentRecords", BEARER,
              query=(query("owner_ids", array(STRING)), query("limit", INT32), query("cursor", STRING),
                     query("expiry", INT64)),
              reply=ref("TournamentRecordList")),
    Operation("DELETE", "/v2/tournament/{tournament_id}", "DeleteTournamentRecord", BEARER),
    Operation("POST", "/v2/tournament/{tournament_id}", "WriteTournamentRecord2", BEARER,
              body=ref("WriteTournamentRecordRequestTournamentRecordWrite"), reply=ref("LeaderboardRecord")),
    Operation("PUT", "/v2/tournament/{tournament_id}", "WriteTournamentRecord", BEARER,
              body=ref("WriteTournamentRecordRequestTournamentRecordWrite"), reply=ref("LeaderboardRecord")),
    Operation("POST", "/v2/tournament/{tournament_id}/join", "JoinTournament", BEARER),
    Operation("GET", "/v2/tournament/{tournament_id}/owner/{owner_id}", "ListTournamentRecordsAroundOwner", BEARER,
              query=(query("limit", INT64), query("expiry", INT64), query("cursor", STRING)),
              reply=ref("TournamentRecordList")),
    Operation("GET", "/v2/user", "GetUsers", BEARER,
              query=(query("ids", array(STRING)), query("usernames", array(STRING)),
                     query("facebook_ids", array(STRING))),
              reply=ref("Users")),
    # The realtime socket: format=json|protobuf, token=<session>, status, lang; see docs/architecture.md.
    Operation("GET", "/ws", "Socket", NO_AUTH,
              query=(query("token", STRING), query("format", {"enum": ["json", "protobuf"]}), query("status", BOOL),
                     query("lang", STRING)), reply=NO_BODY, upgrade=True),
    Operation("GET", "/v2/user/{user_id}/group", "ListUserGroups", BEARER,
              query=(query("limit", INT32), query("state", INT32), query("cursor", STRING)),
              reply=ref("UserGroupList")),
)
