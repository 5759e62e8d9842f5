"""Thin HTTP handlers: decode the request, check the caller, call the core, encode the reply."""
