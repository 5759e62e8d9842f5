"""gRPC code to HTTP status, as grpc-gateway's HTTPStatusFromCode maps them."""

from __future__ import annotations

_HTTP_STATUS = {
    0: 200,
    1: 499,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,  # FailedPrecondition is deliberately 400, not 412
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}


def http_status(code: int) -> int:
    return _HTTP_STATUS.get(code, 500)
