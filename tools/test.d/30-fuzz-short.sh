#!/usr/bin/env bash
# CI short form of tools/fuzz.sh: builds the libFuzzer targets (clang, ASan + UBSan, own build
# dir build-fuzz, ccache-friendly) and runs each for ~20 s after replaying its regression inputs.
# Skips (exit 0) with a message when clang or libFuzzer is not installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if ! command -v clang++ >/dev/null 2>&1; then
  echo "30-fuzz-short: SKIPPED: clang++ not installed (apt-get install clang libclang-rt-14-dev)"
  exit 0
fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    clang++ -x c++ -fsanitize=fuzzer,address - -o /dev/null >/dev/null 2>&1; then
  echo "30-fuzz-short: SKIPPED: clang cannot link libFuzzer (apt-get install libclang-rt-14-dev)"
  exit 0
fi
# BUILD_DIR (the main build tools/test.sh passes) is not used: fuzzing needs its own clang build.
unset BUILD_DIR
exec tools/fuzz.sh "${FUZZ_SECONDS:-20}"
