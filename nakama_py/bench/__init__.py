"""``nakama-py bench``: load tests against any server that speaks Nakama's HTTP API."""
