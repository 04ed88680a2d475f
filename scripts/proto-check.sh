#!/usr/bin/env bash
# Regenerates the gRPC code into a temporary folder and fails on any difference
# from the checked-in src/stackferry/api/*/v1.
set -euo pipefail
python=${1:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
protos=(proto/stackferry/api/agent/v1/agent.proto proto/stackferry/api/controller/v1/controller.proto)
"$python" -m grpc_tools.protoc -Iproto --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  "${protos[@]}"
status=0
for pkg in stackferry/api/agent/v1 stackferry/api/controller/v1; do
  for f in "$out/$pkg"/*; do
    if ! diff -u "src/$pkg/$(basename "$f")" "$f"; then
      echo "proto-check: src/$pkg/$(basename "$f") is out of date: run 'make proto'" >&2
      status=1
    fi
  done
done
exit $status
