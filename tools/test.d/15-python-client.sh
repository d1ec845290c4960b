#!/usr/bin/env bash
# The Python client's tests (tests/python) against a live attnserve-server: conftest.py
# generates the client's stubs from proto/ (client/python/generate_stubs.sh) and starts the
# server of BUILD_DIR (default build) on 127.0.0.1 with free ports serving the golden models.
# Fails on any failed or erroring test, and when none ran (pytest's exit code 5) or some were
# skipped: this is the only run of the Python client in CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
nice cmake --build "$build" -j "${JOBS:-2}" --target attnserve-server >/dev/null
export ATTNSERVE_BIN_DIR="$build/bin"
unset ATTNSERVE_SERVER_BIN
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
.venv/bin/python -m pytest -p no:cacheprovider -q -rfEs tests/python | tee "$report" || status=$?
if [ "$status" -ne 0 ]; then
  echo "python client tests failed (pytest exit code $status; 5 means no tests ran)" >&2
  exit 1
fi
if grep -Eq '[0-9]+ skipped' "$report"; then
  echo "python client tests: some were skipped (see above); CI requires all to run" >&2
  exit 1
fi
