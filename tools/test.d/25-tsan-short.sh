#!/usr/bin/env bash
# CI short form of `SANITIZE=thread tools/test.sh`: builds (own build dir build-tsan, ccache) and
# runs under ThreadSanitizer the two places races live: the encode batcher and the
# continuous-batching scheduler under concurrent submitters/cancels/shutdown/deadlines (the real
# Marian decoder behind a test Translator). Same options, suppressions and Abseil annotations as
# the full run; fails on any race report. The server-process and load-generator tests are in the
# full run (SANITIZE=thread tools/test.sh) only: they need the TSan-built server, client and
# gRPC stubs, which would cost CI ~15 more minutes of cold compiling.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# BUILD_DIR (the main Release build tools/test.sh passes) is not used: TSan needs its own build.
export BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
export TSAN_TESTS="encode_batcher_test translate_scheduler_race_test"
SANITIZE=thread exec tools/test.sh
