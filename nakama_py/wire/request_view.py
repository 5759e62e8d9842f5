"""What the API's handlers and a module's ``ctx`` read from an HTTP request, whichever HTTP core parsed it:
aiohttp's ``web.Request``, or the fast lane's ``LaneRequest`` (wire/fast_lane.py). A handler typed
against ``RequestView`` is served by either, with the same rules in one place; mypy checks every
attribute it reads exists on both.
"""

from __future__ import annotations

from aiohttp import web

from nakama_py.wire.lane_request import LaneRequest

RequestView = web.Request | LaneRequest
