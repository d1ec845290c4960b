#!/usr/bin/env bash
# Builds attnserve (Release) and runs the server in the foreground with its bundled default
# models (models/default.textproto) unless flags say otherwise. Extra arguments go to the server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# ccache hits across clones in other folders (CI builds a fresh clone).
export CCACHE_BASEDIR="$root"
cmake -S . -B build -G Ninja >/dev/null
cmake --build build --target attnserve-server attnserve-client attnserve_spm_shim
exec build/bin/attnserve-server "$@"
