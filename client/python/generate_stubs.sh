#!/usr/bin/env bash
# Generates the Python messages and gRPC stubs of attnserve.v1 and grpc.health.v1 (from the
# repo's proto/) into attnserve_client/_gen/ (not committed).
#
# Uses Debian's protoc (3.21) and grpc_python_plugin; python3-grpc-tools' bundled protoc 3.5
# rejects proto3 `optional`. Override with PROTOC=..., GRPC_PYTHON_PLUGIN=...,
# ATTNSERVE_PROTO_DIR=... (the folder holding attnserve/v1/*.proto and
# grpc/health/v1/health.proto).
#
# The .proto files are compiled from a copy under attnserve_client/_gen/ so that the generated
# imports are `attnserve_client._gen...` and the package needs no sys.path changes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
proto_dir=${ATTNSERVE_PROTO_DIR:-$here/../../proto}
health_proto=$proto_dir/grpc/health/v1/health.proto
protoc=${PROTOC:-protoc}
plugin=${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}
out=$here/attnserve_client/_gen

command -v "$protoc" >/dev/null || { echo "generate_stubs: $protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
[ -x "$plugin" ] || { echo "generate_stubs: $plugin not found (apt-get install protobuf-compiler-grpc)" >&2; exit 1; }
[ -d "$proto_dir/attnserve/v1" ] || { echo "generate_stubs: no $proto_dir/attnserve/v1; set ATTNSERVE_PROTO_DIR" >&2; exit 1; }
[ -f "$health_proto" ] || { echo "generate_stubs: no $health_proto; set ATTNSERVE_PROTO_DIR" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src/attnserve_client/_gen
mkdir -p "$src/attnserve/v1" "$src/grpc/health/v1" "$tmp/out"
cp "$proto_dir"/attnserve/v1/*.proto "$src/attnserve/v1/"
cp "$health_proto" "$src/grpc/health/v1/"
(cd "$tmp/src" && "$protoc" -I. --plugin=protoc-gen-grpc_python="$plugin" \
  --python_out="$tmp/out" --grpc_python_out="$tmp/out" \
  attnserve_client/_gen/attnserve/v1/*.proto attnserve_client/_gen/grpc/health/v1/health.proto)

rm -rf "$out"
mv "$tmp/out/attnserve_client/_gen" "$out"
for d in "$out" "$out/attnserve" "$out/attnserve/v1" "$out/grpc" "$out/grpc/health" "$out/grpc/health/v1"; do
  : >"$d/__init__.py"
done
echo "generate_stubs: wrote $out"
