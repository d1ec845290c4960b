#!/usr/bin/env bash
# CI short form of `SANITIZE=thread tools/test.sh`: builds (own build dir build-tsan, ccache) and
# runs under ThreadSanitizer the concurrency-heavy tests only: the encode batcher, the
# continuous-batching scheduler under concurrent submitters/cancels/shutdown, the TSan-built
# server under concurrent clients and the load generator. Same options, suppressions and
# Abseil annotations as the full run; fails on any race report.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# BUILD_DIR (the main Release build tools/test.sh passes) is not used: TSan needs its own build.
export BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
export TSAN_TESTS="encode_batcher_test translate_scheduler_race_test server_serving_test loadgen_test"
SANITIZE=thread exec tools/test.sh
