#!/usr/bin/env bash
# Builds attnserve and runs every test of the default suite: C++ unit and integration tests
# (ctest), Python client tests, deployment-file validation, and the black-box acceptance checks
# in ../shared/checks when that folder is present. Exit status is non-zero on any failure.
#   tools/test.sh                       Release build in build/
#   SANITIZE=address tools/test.sh      ASan+UBSan (+LSan): every C++ test, build dir build-asan
#     (CI runs the short form tools/test.d/20-asan-short.sh: the same with ASAN_TESTS set to
#     every tests/core test and the server tests that start no server process)
#   SANITIZE=thread tools/test.sh       TSan: every C++ test that can run without Marian (the
#     scheduler via translate_scheduler_race_test), build dir build-tsan (CI runs the short
#     form tools/test.d/25-tsan-short.sh: TSAN_TESTS= the batcher, scheduler race, server
#     serving and loadgen tests)
# Sanitizer runs build only the test targets (not bench/), use -O1 -g1 (compile time on shared
# machines), run with OMP_NUM_THREADS=1 and skip BY NAME what cannot run under the sanitizer
# (see the lists below); ctest runs only the tests of the executables built in that run. They do
# not run tools/test.d/* nor the acceptance checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# ccache hits across clones in other folders (CI builds a fresh clone).
export CCACHE_BASEDIR="$root"
jobs=${JOBS:-$(nproc)}

join() { local IFS='|'; echo "$*"; }

# ASan and TSan abort on dlopen(RTLD_DEEPBIND), which the sentencepiece shim needs, so sanitizer
# builds cannot load a MarianTokenizer (core/tokenizers/sentencepiece.h). tests/core skip those
# cases themselves (GTEST_SKIP under ATTNSERVE_SPM_SHIM_UNAVAILABLE), tests/client serve only the
# encoder and skip translate cases (SKIP_WITHOUT_TRANSLATOR); tests/server that need a working
# Translate model are skipped here by name:
marian_skips=(
  'TranslateSchedulerTest\.'  # every case runs the real Marian Translator
  # The fixture serves marian-tiny too and waits for overall SERVING, which a failed model
  # prevents (tests/client's server helper instead leaves the translator out in these builds).
  'ServerE2eTest\.'
  'ServerServingTest\.SigtermUnderLoadLosesNoAcceptedCallAndExitsZero'  # serves marian-tiny only
  'ServerServingTest\.ASecondModelAddsNoOpenMpTeam'  # calls Translate
  # These serve marian-tiny next to bert-tiny and call Translate.
  'LifecycleTest\.SigtermDuringMixedLoadLosesNoAcceptedCall'
  'ReloadTest\.SighupUnderLoadDropsNoCallAndKeepsResults'
  'SecurityTest\.InvalidUtf8IsInvalidArgumentNamingTheField'
  'SecurityTest\.InvalidUtf8InTranslateStreamIsInvalidArgument'
)

# ctest -R regex of the GoogleTest suites in the given test executables of build/bin (names
# ending in _test; other targets are ignored): a build dir keeps the tests of every earlier run,
# and ctest must run only those built now.
suites_regex() {
  local build=$1 t
  shift
  local -a suites=()
  local listing
  for t in "$@"; do
    [[ "$t" == *_test ]] || continue
    listing=$("$build/bin/$t" --gtest_list_tests) || { echo "$t --gtest_list_tests failed" >&2; return 1; }
    suites+=($(awk '/^[^ ]/ { sub(/\.$/, "", $1); print $1 }' <<<"$listing"))
  done
  echo "^($(join "${suites[@]}"))\\."
}

# Sets run_sanitized's `tests` and `targets`: the executables named in $1 if it is not empty
# (then no server/client binaries: name tests that start none), else every test executable of
# tests/{core,server,client} except those named in $2.. plus the binaries they start.
pick_tests() {
  local listed=$1 f name
  shift
  if [ -n "$listed" ]; then
    read -ra tests <<<"$listed"
    targets=(attnserve_spm_shim "${tests[@]}")
    return
  fi
  for f in tests/core/*_test.cc tests/server/*_test.cc tests/client/*_test.cc; do
    name=$(basename "$f" .cc)
    [[ " $* " == *" $name "* ]] || tests+=("$name")
  done
  targets=(attnserve_spm_shim attnserve-server attnserve-client attnserve-loadgen "${tests[@]}")
}

# Sanitizer suite: configure + build the test targets, run ctest with sanitizer options.
run_sanitized() {
  local mode=$1 build=$2
  local -a cmake_flags=(-DATTNSERVE_SANITIZE="$mode" "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1")
  local -a targets tests=() skips=("${marian_skips[@]}")
  export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive  # TSan cannot see libgomp's barriers
  if [ "$mode" = address ]; then
    # ASAN_TESTS="a_test b_test": only those (CI short form).
    pick_tests "${ASAN_TESTS:-}"
    export ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  else
    # TSAN_TESTS="a_test b_test": only those (CI short form). Left out of the full run:
    # the executables whose every case needs Marian. translate_scheduler_race_test drives the
    # scheduler's queues with a test Translator instead.
    pick_tests "${TSAN_TESTS:-}" translate_scheduler_test server_e2e_test translator_test
    # Debian's Abseil is not TSan-instrumented: tools/tsan_absl_sync.cc tells TSan what
    # absl::Mutex/CondVar/Notification do; linked ahead of libabsl into every executable.
    local annotations="$root/$build/lib/libtsan_absl_sync.so"
    mkdir -p "$build/lib"
    if [ ! "$annotations" -nt tools/tsan_absl_sync.cc ]; then
      nice g++ -std=c++20 -O1 -g1 -fPIC -shared -fsanitize=thread -o "$annotations" \
        tools/tsan_absl_sync.cc -ldl
    fi
    cmake_flags+=("-DCMAKE_EXE_LINKER_FLAGS=-Wl,--no-as-needed $annotations")
    export TSAN_OPTIONS="suppressions=$root/tools/tsan.supp second_deadlock_stack=1 halt_on_error=0"
    skips+=('_NOT_BUILT$')  # placeholders of the test executables not built here
  fi
  cmake -S . -B "$build" -G Ninja "${cmake_flags[@]}" >/dev/null
  nice cmake --build "$build" -j "$jobs" --target "${targets[@]}"
  local -a ctest_args=(--test-dir "$build" --output-on-failure -j "$jobs" --timeout 900
                       --no-tests=error -E "$(join "${skips[@]}")")
  if [ ${#tests[@]} -gt 0 ]; then
    local only_built
    only_built=$(suites_regex "$build" "${tests[@]}")
    ctest_args+=(-R "$only_built")
    echo "== ctest ($mode): test executables: ${tests[*]}"
  fi
  echo "== ctest ($mode): skipped by name: $(join "${skips[@]}")"
  ctest "${ctest_args[@]}"
}

if [ -n "${SANITIZE:-}" ]; then
  case "$SANITIZE" in
    address | thread) ;;
    *) echo "SANITIZE=$SANITIZE: use address (ASan+UBSan) or thread (TSan)" >&2; exit 2 ;;
  esac
  [ "$SANITIZE" = address ] && default_dir=build-asan || default_dir=build-tsan
  run_sanitized "$SANITIZE" "${BUILD_DIR:-$default_dir}"
  exit $?
fi

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DATTNSERVE_SANITIZE= >/dev/null
cmake --build "$build" -j "$jobs"

status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600 || status=1

for t in tools/test.d/*.sh; do
  [ -x "$t" ] || continue
  echo "== $t"
  BUILD_DIR="$build" "$t" || status=1
done
if [ -x ../shared/checks/run-all ]; then
  echo "== ../shared/checks/run-all (black-box acceptance checks)"
  ../shared/checks/run-all || status=1
fi
exit $status
