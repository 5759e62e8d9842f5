"""Nakama's realtime protocol messages, generated from the .proto files here (see generate.sh)."""
