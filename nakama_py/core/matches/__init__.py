"""Matches: relayed (clients exchange data through the server) and authoritative (a runtime
module's handler runs the game loop on one server process).

- ``ids.py``: match ids (``"<uuid>.<node>"``; relayed ones have no node);
- ``types.py``: what a match is made of (presences, messages, listings) and ``MatchCore``, the
  callbacks a runtime handler provides;
- ``handler.py``: one running authoritative match (its task, queues, ticks, limits);
- ``relayed.py``: the relayed match rules (create, join, leave, data) over the tracker;
- ``calls.py``: join attempts, data and signals sent to the process hosting a match (the bus);
- ``index.py``: the cluster-wide index of authoritative matches (labels, for listing);
- ``registry.py``: this process's matches and the entry points the socket, REST and ``nk`` call;
- ``listing.py``: listing with Nakama's filters and query syntax.
"""
