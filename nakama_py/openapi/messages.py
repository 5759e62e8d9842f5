"""Nakama's api messages as JSON Schemas, by their nakama.api names (field names and types from api.proto)."""

from __future__ import annotations

from nakama_py.openapi.schema import (
    BOOL,
    INT32,
    INT64,
    OPERATOR,
    STRING,
    TIMESTAMP,
    Schema,
    array,
    message,
    ref,
    string_map,
)

MESSAGES: dict[str, Schema] = {
    "FriendsOfFriendsListFriendOfFriend": message(
        referrer=STRING,
        user=ref("User")),
    "GroupUserListGroupUser": message(
        user=ref("User"),
        state=INT32),
    "UserGroupListUserGroup": message(
        group=ref("Group"),
        state=INT32),
    "WriteLeaderboardRecordRequestLeaderboardRecordWrite": message(
        score=INT64,
        subscore=INT64,
        metadata=STRING,
        operator=OPERATOR),
    "WriteTournamentRecordRequestTournamentRecordWrite": message(
        score=INT64,
        subscore=INT64,
        metadata=STRING,
        operator=OPERATOR),
    "Account": message(
        user=ref("User"),
        wallet=STRING,
        email=STRING,
        devices=array(ref("AccountDevice")),
        custom_id=STRING,
        verify_time=TIMESTAMP,
        disable_time=TIMESTAMP),
    "AccountApple": message(
        token=STRING,
        vars=string_map),
    "AccountCustom": message(
        id=STRING,
        vars=string_map),
    "AccountDevice": message(
        id=STRING,
        vars=string_map),
    "AccountEmail": message(
        email=STRING,
        password=STRING,
        vars=string_map),
    "AccountFacebook": message(
        token=STRING,
        vars=string_map),
    "AccountFacebookInstantGame": message(
        signed_player_info=STRING,
        vars=string_map),
    "AccountGameCenter": message(
        player_id=STRING,
        bundle_id=STRING,
        timestamp_seconds=INT64,
        salt=STRING,
        signature=STRING,
        public_key_url=STRING,
        vars=string_map),
    "AccountGoogle": message(
        token=STRING,
        vars=string_map),
    "AccountSteam": message(
        token=STRING,
        vars=string_map),
    "ChannelMessage": message(
        channel_id=STRING,
        message_id=STRING,
        code=INT32,
        sender_id=STRING,
        username=STRING,
        content=STRING,
        create_time=TIMESTAMP,
        update_time=TIMESTAMP,
        persistent=BOOL,
        room_name=STRING,
        group_id=STRING,
        user_id_one=STRING,
        user_id_two=STRING),
    "ChannelMessageList": message(
        messages=array(ref("ChannelMessage")),
        next_cursor=STRING,
        prev_cursor=STRING,
        cacheable_cursor=STRING),
    "CreateGroupRequest": message(
        name=STRING,
        description=STRING,
        lang_tag=STRING,
        avatar_url=STRING,
        open=BOOL,
        max_count=INT32),
    "DeleteStorageObjectId": message(
        collection=STRING,
        key=STRING,
        version=STRING),
    "DeleteStorageObjectsRequest": message(
        object_ids=array(ref("DeleteStorageObjectId"))),
    "Event": message(
        name=STRING,
        properties=string_map,
        timestamp=TIMESTAMP,
        external=BOOL),
    "Friend": message(
        user=ref("User"),
        state=INT32,
        update_time=TIMESTAMP,
        metadata=STRING),
    "FriendList": message(
        friends=array(ref("Friend")),
        cursor=STRING),
    "FriendsOfFriendsList": message(
        friends_of_friends=array(ref("FriendsOfFriendsListFriendOfFriend")),
        cursor=STRING),
    "Group": message(
        id=STRING,
        creator_id=STRING,
        name=STRING,
        description=STRING,
        lang_tag=STRING,
        metadata=STRING,
        avatar_url=STRING,
        open=BOOL,
        edge_count=INT32,
        max_count=INT32,
        create_time=TIMESTAMP,
        update_time=TIMESTAMP),
    "GroupList": message(
        groups=array(ref("Group")),
        cursor=STRING),
    "GroupUserList": message(
        group_users=array(ref("GroupUserListGroupUser")),
        cursor=STRING),
    "LeaderboardRecord": message(
        leaderboard_id=STRING,
        owner_id=STRING,
        username=STRING,
        score=INT64,
        subscore=INT64,
        num_score=INT32,
        metadata=STRING,
        create_time=TIMESTAMP,
        update_time=TIMESTAMP,
        expiry_time=TIMESTAMP,
        rank=INT64,
        max_num_score=INT64),
    "LeaderboardRecordList": message(
        records=array(ref("LeaderboardRecord")),
        owner_records=array(ref("LeaderboardRecord")),
        next_cursor=STRING,
        prev_cursor=STRING,
        rank_count=INT64),
    "LinkSteamRequest": message(
        account=ref("AccountSteam"),
        sync=BOOL),
    "Match": message(
        match_id=STRING,
        authoritative=BOOL,
        label=STRING,
        size=INT32,
        tick_rate=INT32,
        handler_name=STRING),
    "MatchList": message(
        matches=array(ref("Match"))),
    "MatchmakerCompletionStats": message(
        create_time=TIMESTAMP,
        complete_time=TIMESTAMP),
    "MatchmakerStats": message(
        ticket_count=INT32,
        oldest_ticket_create_time=TIMESTAMP,
        completions=array(ref("MatchmakerCompletionStats"))),
    "Notification": message(
        id=STRING,
        subject=STRING,
        content=STRING,
        code=INT32,
        sender_id=STRING,
        create_time=TIMESTAMP,
        persistent=BOOL),
    "NotificationList": message(
        notifications=array(ref("Notification")),
        cacheable_cursor=STRING),
    "Party": message(
        party_id=STRING,
        open=BOOL,
        hidden=BOOL,
        max_size=INT32,
        label=STRING),
    "PartyList": message(
        parties=array(ref("Party")),
        cursor=STRING),
    "ReadStorageObjectId": message(
        collection=STRING,
        key=STRING,
        user_id=STRING),
    "ReadStorageObjectsRequest": message(
        object_ids=array(ref("ReadStorageObjectId"))),
    "Rpc": message(
        id=STRING,
        payload=STRING,
        http_key=STRING),
    "Session": message(
        created=BOOL,
        token=STRING,
        refresh_token=STRING),
    "SessionLogoutRequest": message(
        token=STRING,
        refresh_token=STRING),
    "SessionRefreshRequest": message(
        token=STRING,
        vars=string_map),
    "StorageObject": message(
        collection=STRING,
        key=STRING,
        user_id=STRING,
        value=STRING,
        version=STRING,
        permission_read=INT32,
        permission_write=INT32,
        create_time=TIMESTAMP,
        update_time=TIMESTAMP),
    "StorageObjectAck": message(
        collection=STRING,
        key=STRING,
        version=STRING,
        user_id=STRING,
        create_time=TIMESTAMP,
        update_time=TIMESTAMP),
    "StorageObjectAcks": message(
        acks=array(ref("StorageObjectAck"))),
    "StorageObjectList": message(
        objects=array(ref("StorageObject")),
        cursor=STRING),
    "StorageObjects": message(
        objects=array(ref("StorageObject"))),
    "Tournament": message(
        id=STRING,
        title=STRING,
        description=STRING,
        category=INT64,
        sort_order=INT64,
        size=INT64,
        max_size=INT64,
        max_num_score=INT64,
        can_enter=BOOL,
        end_active=INT64,
        next_reset=INT64,
        metadata=STRING,
        create_time=TIMESTAMP,
        start_time=TIMESTAMP,
        end_time=TIMESTAMP,
        duration=INT64,
        start_active=INT64,
        prev_reset=INT64,
        operator=OPERATOR,
        authoritative=BOOL,
        join_required=BOOL),
    "TournamentList": message(
        tournaments=array(ref("Tournament")),
        cursor=STRING),
    "TournamentRecordList": message(
        records=array(ref("LeaderboardRecord")),
        owner_records=array(ref("LeaderboardRecord")),
        next_cursor=STRING,
        prev_cursor=STRING,
        rank_count=INT64),
    "UpdateAccountRequest": message(
        username=STRING,
        display_name=STRING,
        avatar_url=STRING,
        lang_tag=STRING,
        location=STRING,
        timezone=STRING),
    "User": message(
        id=STRING,
        username=STRING,
        display_name=STRING,
        avatar_url=STRING,
        lang_tag=STRING,
        location=STRING,
        timezone=STRING,
        metadata=STRING,
        facebook_id=STRING,
        google_id=STRING,
        gamecenter_id=STRING,
        steam_id=STRING,
        online=BOOL,
        edge_count=INT32,
        create_time=TIMESTAMP,
        update_time=TIMESTAMP,
        facebook_instant_game_id=STRING,
        apple_id=STRING),
    "UserGroupList": message(
        user_groups=array(ref("UserGroupListUserGroup")),
        cursor=STRING),
    "Users": message(
        users=array(ref("User"))),
    "WriteStorageObject": message(
        collection=STRING,
        key=STRING,
        value=STRING,
        version=STRING,
        permission_read=INT32,
        permission_write=INT32),
    "WriteStorageObjectsRequest": message(
        objects=array(ref("WriteStorageObject"))),
}
