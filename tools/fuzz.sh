#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang) and runs each for a bounded time, after
# replaying its regression inputs (tests/fuzz/regressions/<target>/). Prints the executions per
# target; exits non-zero when any input crashes (the reproducer is saved under
# <build>/fuzz-artifacts/<target>/ and its path printed).
#   tools/fuzz.sh [seconds_per_target]          default 60
# Two builds: ASan + UBSan (build-fuzz) runs every target that builds there; UBSan only
# (-fsanitize=fuzzer,undefined, build-fuzz-ubsan) runs the targets that need the sentencepiece
# shim, which is dlopen'ed with RTLD_DEEPBIND and ASan rejects that: marian_tokenizer, and the
# request target again with marian-tiny loaded (under ASan it only covers the encoder).
# Environment:
#   FUZZ_BUILD_DIR=build-fuzz              the ASan fuzz build (configured here when missing)
#   FUZZ_UBSAN_BUILD_DIR=build-fuzz-ubsan  the UBSan-only fuzz build (configured when missing)
#   FUZZ_UBSAN=0                           skip the UBSan-only build (marian_tokenizer not run)
#   FUZZ_TARGETS="a b"                     only these targets (names without _fuzzer)
#   JOBS=N                                 build parallelism
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-60}
jobs=${JOBS:-$(nproc)}
if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ not found; install clang and libclang-rt-14-dev (libFuzzer) to fuzz" >&2
  exit 2
fi

# configure_and_build BUILD_DIR SANITIZE [targets...]: builds the named fuzz targets, or every
# target the configuration supports.
configure_and_build() {
  local build=$1 sanitize=$2
  shift 2
  if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DATTNSERVE_FUZZ=ON \
      -DATTNSERVE_BUILD_TESTS=OFF -DATTNSERVE_SANITIZE="$sanitize" >/dev/null || return 1
  fi
  local targets=(attnserve_fuzzers) name
  if [ $# -gt 0 ]; then
    targets=()
    for name in "$@"; do targets+=("${name}_fuzzer"); done
  elif [ -n "${FUZZ_TARGETS:-}" ]; then
    # Only the wanted targets this configuration defines (marian_tokenizer is not one under ASan).
    local defined
    defined=$(ninja -C "$build" -t targets all 2>/dev/null | sed -n 's/^\([a-z_]*_fuzzer\): .*/\1/p')
    targets=()
    for name in $FUZZ_TARGETS; do
      grep -qx "${name}_fuzzer" <<<"$defined" && targets+=("${name}_fuzzer")
    done
    [ ${#targets[@]} -gt 0 ] || return 0
  fi
  cmake --build "$build" -j "$jobs" --target "${targets[@]}"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary=()
failed=0

# run_target BUILD_DIR NAME
run_target() {
  local build=$1 name=$2
  local exe="$build/bin/${name}_fuzzer"
  local seeds="tests/fuzz/corpus/$name" regress="tests/fuzz/regressions/$name"
  local work="$build/fuzz-corpus/$name" artifacts="$build/fuzz-artifacts/$name/"
  local log="$build/fuzz-logs/$name.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")" "$seeds"
  if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
    if ! "$exe" -runs=0 "$regress"/* >"$log.regressions" 2>&1; then
      echo "fuzz: $name: a regression input crashes again (see $log.regressions)" >&2
      tail -n 40 "$log.regressions" >&2
      summary+=("$(printf '%-18s %-16s REGRESSION FAILED' "$name" "$(basename "$build")")")
      failed=1
      return
    fi
  fi
  # New inputs go to the build dir's corpus (kept between runs); the seeds are read only.
  "$exe" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$artifacts" "$work" "$seeds" >"$log" 2>&1
  local rc=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz: $name CRASHED (exit $rc); log $log; reproducer:" >&2
    grep -E '^(artifact_prefix|Test unit written to)' "$log" >&2
    grep -E 'ERROR: |runtime error|invariant violated|^    #[0-9]+ ' "$log" | head -n 40 >&2
    summary+=("$(printf '%-18s %-16s CRASH after %s execs' "$name" "$(basename "$build")" "${execs:-?}")")
  else
    summary+=("$(printf '%-18s %-16s %12s execs in %ss, corpus %s' "$name" "$(basename "$build")" \
      "${execs:-?}" "$seconds" "$(ls "$work" | wc -l)")")
  fi
}

# run_build BUILD_DIR SANITIZE [only these targets...]
run_build() {
  local build=$1 sanitize=$2
  shift 2
  if [ $# -gt 0 ] && [ -n "${FUZZ_TARGETS:-}" ]; then
    local wanted=() name
    for name in "$@"; do
      [[ " $FUZZ_TARGETS " == *" $name "* ]] && wanted+=("$name")
    done
    [ ${#wanted[@]} -gt 0 ] || return 0
    set -- "${wanted[@]}"
  fi
  if ! configure_and_build "$build" "$sanitize" "$@"; then
    echo "fuzz: building the fuzz targets in $build failed" >&2
    failed=1
    return
  fi
  local name
  for src in tests/fuzz/*_fuzzer.cc; do
    name=$(basename "$src" _fuzzer.cc)
    [ -x "$build/bin/${name}_fuzzer" ] || continue  # not built in this configuration
    if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
    if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
    echo "fuzz: $name ($build, ${seconds}s)"
    run_target "$build" "$name"
  done
}

run_build "${FUZZ_BUILD_DIR:-build-fuzz}" address
if [ "${FUZZ_UBSAN:-1}" = 1 ]; then
  run_build "${FUZZ_UBSAN_BUILD_DIR:-build-fuzz-ubsan}" "" marian_tokenizer request
else
  echo "fuzz: FUZZ_UBSAN=0: marian_tokenizer (sentencepiece shim, RTLD_DEEPBIND, not under" \
    "ASan) is not run"
fi

echo "== fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $failed
