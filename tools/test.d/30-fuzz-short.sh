#!/usr/bin/env bash
# CI short form of tools/fuzz.sh: builds the libFuzzer targets in their own clang build dirs
# (build-fuzz: ASan + UBSan; build-fuzz-ubsan: UBSan only, for marian_tokenizer and the request
# target with Marian, whose sentencepiece shim ASan cannot load) and runs each for
# FUZZ_SECONDS (default 60: 7 runs, about 7.5 min of fuzzing) after replaying its regression
# inputs. Skips (exit 0) with a message when clang or libFuzzer is not installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if ! command -v clang++ >/dev/null 2>&1; then
  echo "30-fuzz-short: SKIPPED: clang++ not installed (apt-get install clang libclang-rt-14-dev)"
  exit 0
fi
for sanitize in fuzzer,address fuzzer,undefined; do
  if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
      clang++ -x c++ -fsanitize="$sanitize" - -o /dev/null >/dev/null 2>&1; then
    echo "30-fuzz-short: SKIPPED: clang cannot link -fsanitize=$sanitize" \
      "(apt-get install libclang-rt-14-dev)"
    exit 0
  fi
done
# BUILD_DIR (the main build tools/test.sh passes) is not used: fuzzing needs its own clang builds.
unset BUILD_DIR
exec tools/fuzz.sh "${FUZZ_SECONDS:-60}"
