#!/usr/bin/env bash
# CI short form of `SANITIZE=address tools/test.sh`: builds (own build dir build-asan, ccache)
# and runs under ASan+UBSan (LSan included) every tests/core test (tokenizers, safetensors,
# ops, BERT/MiniLM/Marian models, decoding) and the server tests that start no server process:
# the encode batcher (queue bound, deadlines, cancellation, shutdown), the containment of core
# failures (fault injection under concurrent load; its Translate cases skip themselves), the model
# config sources
# and request checks, and the proto round trips.
# Same options and Marian skips as the full run (tools/test.sh); fails on any sanitizer report.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# BUILD_DIR (the main Release build tools/test.sh passes) is not used: ASan needs its own build.
export BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
tests=()
for f in tests/core/*_test.cc; do
  tests+=("$(basename "$f" .cc)")
done
tests+=(encode_batcher_test fault_containment_test server_config_test proto_test)
export ASAN_TESTS="${tests[*]}"
SANITIZE=address exec tools/test.sh
