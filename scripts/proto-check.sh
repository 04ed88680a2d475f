#!/usr/bin/env bash
# Regenerates the gRPC code into a temporary folder and fails on any difference
# from the checked-in agent/pb and controller/pb.
set -euo pipefail
python=${1:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$python" -m grpc_tools.protoc -Iproto --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  proto/agent/pb/agent.proto proto/controller/pb/controller.proto
status=0
for pkg in agent/pb controller/pb; do
  for f in "$out/$pkg"/*; do
    if ! diff -u "$pkg/$(basename "$f")" "$f"; then
      echo "proto-check: $pkg/$(basename "$f") is out of date: run 'make proto'" >&2
      status=1
    fi
  done
done
exit $status
