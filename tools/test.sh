#!/usr/bin/env bash
# Builds attnserve and runs every test of the default suite: C++ unit and integration tests
# (ctest), Python client tests, deployment-file validation, and the black-box acceptance checks
# in ../shared/checks when that folder is present. Exit status is non-zero on any failure.
#   tools/test.sh                 Release build in build/
#   BUILD_DIR=build-asan SANITIZE=address tools/test.sh   the ASan+UBSan suite
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}

cmake -S . -B "$build" -G Ninja -DATTNSERVE_SANITIZE="${SANITIZE:-}" >/dev/null
cmake --build "$build" -j "$jobs"

status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600 || status=1

if [ -z "${SANITIZE:-}" ]; then
  for t in tools/test.d/*.sh; do
    [ -x "$t" ] || continue
    echo "== $t"
    BUILD_DIR="$build" "$t" || status=1
  done
  if [ -x ../shared/checks/run-all ]; then
    echo "== ../shared/checks/run-all (black-box acceptance checks)"
    ../shared/checks/run-all || status=1
  fi
fi
exit $status
