"""Nakama's wire conventions: JSON encoding, request parsing, errors, CORS.

Every HTTP handler uses these helpers, so the conventions live in one place.
"""
