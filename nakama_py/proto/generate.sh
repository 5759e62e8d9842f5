#!/bin/sh
# Regenerates the committed *_pb2.py/*.pyi from the .proto files (run from anywhere).
set -e
cd "$(dirname "$0")/../.."
python -m grpc_tools.protoc -I . --python_out=. --mypy_out=. nakama_py/proto/api.proto nakama_py/proto/realtime.proto
