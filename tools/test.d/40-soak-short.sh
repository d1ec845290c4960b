#!/usr/bin/env bash
# CI short form of tools/soak.sh: a 60 s soak with every fault mode (invalid UTF-8 included,
# which must get INVALID_ARGUMENT) against the golden models (about 90 s in all). Uses the
# binaries of BUILD_DIR (default build).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export BUILD_DIR=${BUILD_DIR:-build}
exec tools/soak.sh "${SOAK_SECONDS:-60}"
