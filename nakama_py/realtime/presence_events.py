"""Presence events to this process's sockets: the tracker reports joins and leaves of visible
presences (from any process), and each stream kind has its envelope and its audience.

- chat channels: ``channel_presence_event`` to the channel's members on this process;
- status: ``status_presence_event`` to the sockets here that follow the user;
- matches (relayed and authoritative): ``match_presence_event`` to the match's members here;
- runtime streams (custom modes): ``stream_presence_event`` to the stream's members here;
- parties: ``party_presence_event`` to the party's members here.
Notification streams are hidden.
"""

from __future__ import annotations

from nakama_py.core.channel_ids import channel_fields, channel_id
from nakama_py.core.party import party_id_of
from nakama_py.core.presence import Presence, Stream, StreamMode
from nakama_py.core.status import StatusFollows
from nakama_py.core.tracker import Tracker
from nakama_py.proto.realtime_pb2 import (
    ChannelPresenceEvent,
    Envelope,
    MatchPresenceEvent,
    PartyPresenceEvent,
    StatusPresenceEvent,
    StreamPresenceEvent,
)
from nakama_py.realtime.registry import SessionRegistry

CHANNEL_MODES = {StreamMode.CHANNEL, StreamMode.GROUP, StreamMode.DM}
MATCH_MODES = {StreamMode.MATCH_RELAYED, StreamMode.MATCH_AUTHORITATIVE}
BUILT_IN_MODES = set(StreamMode)


class PresenceEvents:
    def __init__(self, tracker: Tracker, registry: SessionRegistry, follows: StatusFollows) -> None:
        self._tracker = tracker
        self._registry = registry
        self._follows = follows
        tracker.on_event(self.on_event)

    def _local_members(self, stream: Stream) -> list[str]:
        process = self._tracker.process
        return [p.session_id for p in self._tracker.members(stream) if p.process == process]

    def on_event(self, stream: Stream, joins: list[Presence], leaves: list[Presence]) -> None:
        envelope = Envelope()
        event: (ChannelPresenceEvent | StatusPresenceEvent | StreamPresenceEvent | MatchPresenceEvent
               | PartyPresenceEvent)
        if stream.mode in CHANNEL_MODES:
            audience = self._local_members(stream)
            channel = envelope.channel_presence_event
            channel.channel_id = channel_id(stream)
            for name, value in channel_fields(stream).items():
                setattr(channel, name, value)
            event = channel
        elif stream.mode in MATCH_MODES:
            audience = self._local_members(stream)
            match = envelope.match_presence_event
            match.match_id = f"{stream.subject}.{stream.label}"
            event = match
        elif stream.mode == StreamMode.PARTY:
            audience = self._local_members(stream)
            party = envelope.party_presence_event
            party.party_id = party_id_of(stream)
            event = party
        elif stream.mode == StreamMode.STATUS:
            audience = self._follows.followers(stream.subject)
            event = envelope.status_presence_event
        elif stream.mode not in BUILT_IN_MODES:
            audience = self._local_members(stream)
            custom = envelope.stream_presence_event
            custom.stream.CopyFrom(stream.to_proto())
            event = custom
        else:
            return
        if not audience:
            return
        event.joins.extend(p.to_proto() for p in joins)
        event.leaves.extend(p.to_proto() for p in leaves)
        self._registry.deliver(audience, envelope)
