"""The realtime socket (``GET /ws``): Nakama's envelope protocol in JSON or protobuf.

``socket`` upgrades and authenticates, ``session`` is one connected socket with its bounded
outgoing queue, ``codec`` turns envelopes into frames, ``pipeline`` sends each envelope type to
its handler (``handlers_*``). Presences, routing and every rule live in ``core``.
"""
