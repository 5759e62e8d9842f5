"""The nakama-js suite tests (tests/nakamajs) that fail today, each with why: the one list to edit.

Keys are ``"<file>::<test name>"`` (both adapters) or ``"<file>::<test name>[text|protobuf]"``.
They are strict xfails: a test that starts passing fails the run, to have its line removed here;
except those whose outcome depends on timing even against real Nakama (``NOT_STRICT`` reasons).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.nakamajs_suite import JsTest

SOCKET = "issue 14: the realtime socket (/ws) is not built yet"
NOTIFICATIONS = "issue 14: GET/DELETE /v2/notification are not built yet"
GROUP_CHAT = "issue 14 and issue 16: the socket and groups are not built yet"
MULTIPLAYER = "issue 15: matches, the matchmaker and parties (on the issue 14 socket) are not built yet"
USERS = "issue 16: GET /v2/user is not built yet"
FRIENDS = "issue 16: friends are not built yet"
GROUPS = "issue 16: groups are not built yet"
EVENTS = "issue 16: clientrpc.rpc calls nk.event (events), not built yet"
# Real Nakama 3.40 fails these too, for reasons in the tests themselves (see the comments below).
PARTY_OF_ONE = ("fails against real Nakama 3.40 too: the test has a second user join a party created with "
                "max size 1, which Nakama refuses as full (party_handler.go ErrPartyFull)")
LABEL_INDEXING = ("issue 15; fails against real Nakama 3.40 too, whose match labels are indexed in batches "
                  "(match.label_update_interval_ms, 1 s) so a list right after the create misses the match: "
                  "issue 15 asks nakama-py to index new labels promptly")
MATCHMAKER_TIMING = ("issue 15; flaky against real Nakama 3.40 too: the two tickets differ in the ranged property "
                     "and only one query rejects the other's value, but Nakama checks only the searching ticket's "
                     "query (matchmaker.rev_precision false), so they match whenever a matchmaker interval "
                     "(matchmaker.interval_sec, 15 s) falls within the test's 5 s wait")
NOT_STRICT = {MATCHMAKER_TIMING}

_SOCKET_FILES = {
    "socket.test.js": ["should connect", "should rpc and receive stream data"],
    "socket-status.test.js": ["should create status, and then update it",
                              "should follow user2, and get status update when coming online",
                              "should follow user2, and unfollow user2"],
    "socket-channel.test.js": ["should join a channel", "should join a room, then leave it",
                               "should join a room, then send message, receive message",
                               "should join a room, then send message, update message, then list messages",
                               "should join a room, then send message, remove message, then list messages"],
}

_MULTIPLAYER_FILES = {
    "socket-match.test.js": ["should create match", "should join a match", "should join a match, then leave it",
                             "should join a match, then send data, receive data",
                             "should join a match, then send data to included presences",
                             "should join a match, then do not send data to excluded presences",
                             "should create authoritative match, and join with metadata",
                             "should create authoritative match, list matches without querying"],
    "socket-matchmaker.test.js": ["should only add to matchmaker", "should add and remove from matchmaker",
                                  "should add to matchmaker and do basic match",
                                  "should add to matchmaker and match on range",
                                  "should add to matchmaker and match on range and value",
                                  "should add to matchmaker then remove and not match",
                                  "should add to matchmaker but not match",
                                  "should add multiple to matchmaker and not match",
                                  "should add to matchmaker and match authoritative"],
    "socket-party.test.js": ["should create party and receive presence", "should create closed party and accept member",
                             "should only create open party and only have member join",
                             "should create open party and have member join and send data",
                             "should create closed party and have member join and then removed",
                             "should create closed party and have member join and then promoted",
                             "should create closed party and have member join and then join match"],
}

_GROUP_TESTS = [
    "should create group", "should create then list group", "should create, update, then list group",
    "should create, delete, then list group", "should create then list group users",
    "should create, join, then list group users", "should create, add, then list group users",
    "should create, add, kick, then list group users", "should create closed, request to join, then list group users",
    "should create open, join, then list user groups and see count affected",
    "should create closed, request to join, then list user groups and see count unaffected",
    "should create closed, request to join, add, then list user groups and see count affected",
    "should create closed group, request to join, promote, then list user groups and see count affected",
    "should create open, join, leave, then list user groups and see count affected",
    "should create closed, request to join, leave, then list user groups and see count unaffected",
    "should create closed, request to join, add, then list group users",
    "should create closed, request to join, promote, then list group users",
    "should create closed, request to join, kick, then list group users",
    "should create, add, promote, then list group users", "should create, add, promote twice, then list group users",
    "should create, join, leave, then list group users",
    "should create closed, request to join, leave, then list group users",
    "should create, add, promote, add, promote, then list group users", "should create, list group",
    "should create, add, ban, then list group users", "should create group and fail to demote superadmin",
    "should create group, add user and promote and demote them",
    "should create group, add user and fail to demote lowest-ranking user",
]

_FRIEND_TESTS = ["should add friend, then list", "should receive friend invite, then list",
                 "should block friend, then list", "should add friend, accept, then list",
                 "should add friend, reject, then list"]

EXPECTED_FAILURES: dict[str, str] = {
    **{f"{file}::{name}": SOCKET for file, names in _SOCKET_FILES.items() for name in names},
    "socket-channel.test.js::should create a group, join group chat, then leave it": GROUP_CHAT,
    "socket-notification.test.js::should rpc and list notifications": NOTIFICATIONS,
    "socket-notification.test.js::should rpc and delete notification": NOTIFICATIONS,
    **{f"{file}::{name}": MULTIPLAYER for file, names in _MULTIPLAYER_FILES.items() for name in names},
    "socket-match.test.js::should create authoritative match, list matches with querying": LABEL_INDEXING,
    "socket-match.test.js::should create authoritative match, list matches with querying arrays": LABEL_INDEXING,
    "socket-matchmaker.test.js::should add to matchmaker but not match on range": MATCHMAKER_TIMING,
    "socket-matchmaker.test.js::should add to matchmaker but not match on range and value": MATCHMAKER_TIMING,
    "socket-party.test.js::should create party and add matchmaker and leave matchmaker": PARTY_OF_ONE,
    "client-user.test.js::should return two users": USERS,
    "client-user.test.js::should return no users": USERS,
    **{f"client-friend.test.js::{name}": FRIENDS for name in _FRIEND_TESTS},
    **{f"client-group.test.js::{name}": GROUPS for name in _GROUP_TESTS},
    "client-rpc.test.js::should send rpc with payload": EVENTS,
}


@dataclass(frozen=True)
class Expectation:
    reason: str
    strict: bool


def expected_failure(test: JsTest) -> Expectation | None:
    reason = EXPECTED_FAILURES.get(test.id) or EXPECTED_FAILURES.get(f"{test.file}::{test.name}")
    return Expectation(reason, reason not in NOT_STRICT) if reason else None
