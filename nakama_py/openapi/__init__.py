"""The OpenAPI 3.1 description of nakama-py's HTTP API and console (``nakama-py openapi``)."""
