#!/usr/bin/env bash
# attnserve vs peer engines, same machine, same run, same thread count:
# PyTorch/transformers (fp32, bf16), ONNX Runtime (fp32, fp32 + transformer
# optimizer, int8 dynamic) and CTranslate2 (float32, int16, int8) against
# attnserve (float32, int8; bf16 where the CPU has it) on encoder shapes
# (bert-base, the real all-MiniLM-L6-v2, XLM-R-base), the opus-mt-en-de
# decoder shape and a rerank of 1 query x 100 passages by a MiniLM-L6-shape
# cross-encoder (minilm-ce; PyTorch through sentence-transformers'
# CrossEncoder).
# Writes bench/peers/last_run/*.json (+ peers.json) and bench/peers/README.md.
#
#   bench/peers/run.sh [BUILD_DIR]   (default: build-peers; built if missing)
#   PEERS_QUICK=1      fewer shapes and timed calls (development)
#   PEERS_THREADS="2 1" thread counts (default "2 1", quick "2")
#   PEERS_REPS=N       timed calls per case (default 5, quick 2)
#   PEERS_MODELS="bert-base minilm xlm-r-base minilm-ce"  only these models'
#                      cases (and make_models.py makes only their folders),
#                      written to last_run-<models joined by +>/ and rendered
#                      as a separate section after the full run's tables
#                      (a full run removes those directories)
#                      (default: every model; the README says so)
#   RENDER_ONLY=1      re-render README.md from last_run/ without running
#   OMP_WAIT_POLICY    unset by default: every OpenMP engine (attnserve,
#                      PyTorch, CTranslate2: libgomp) then waits as
#                      attnserve-server does, GOMP_SPINCOUNT=1000 (a short
#                      spin, then sleep), and ONNX Runtime's own pool spins as
#                      it does by default; PASSIVE applies to every engine
#                      (ONNX Runtime: session.intra_op.allow_spinning=0).
# The venv (bench/peers/.venv-peers) is made by setup-venv.sh when absent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build-peers}"
venv="${PEERS_VENV:-$here/.venv-peers}"
work="$here/work"
out="$here/last_run"
models="${PEERS_MODELS:-}"
[[ -n "$models" ]] && out="$here/last_run-$(echo $models | tr ' ' '+')"
minilm="$(readlink -f "$root/models/all-MiniLM-L6-v2" || echo "$root/models/all-MiniLM-L6-v2")"
quick="${PEERS_QUICK:-0}"
[[ "$quick" == 0 ]] && quick=""
threads="${PEERS_THREADS:-$([[ -n "$quick" ]] && echo 2 || echo "2 1")}"
python="$venv/bin/python"
if [[ -z "${OMP_WAIT_POLICY:-}" ]]; then
  export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-1000}"
fi

if [[ -z "${RENDER_ONLY:-}" ]]; then
  PEERS_VENV="$venv" "$here/setup-venv.sh"
  bench="$build/bin/attnserve-bench"
  if [[ ! -x "$bench" ]]; then
    cmake -S "$root" -B "$build" -G Ninja > /dev/null
    nice ninja -C "$build" attnserve-bench
  fi
  [[ -f "$minilm/config.json" ]] ||
    echo "run.sh: $minilm missing: run deploy/install-deps.sh for the real all-MiniLM-L6-v2 (its cases are reported as not available)" >&2
  "$python" "$here/make_models.py" "$work" "$minilm"

  rm -rf "$out" && mkdir -p "$out"
  [[ -z "$models" ]] && rm -rf "$here"/last_run-*
  cp "$work/conversions.json" "$out/"
  lscpu > "$out/lscpu.txt"
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  export PEERS_QUICK="${quick:-0}"
  reps="$("$python" -c "import sys; sys.path.insert(0, '$here'); import shapes; print(shapes.reps())")"
  spec="$("$python" "$here/shapes.py" "$work" "$minilm")"
  for t in $threads; do
    # The same thread count for every engine; OMP/MKL variables for the
    # libraries that read them (attnserve's oneDNN, PyTorch, CTranslate2).
    export OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t"
    echo "run.sh: attnserve, $t thread(s)" >&2
    ATTNSERVE_PEERS_SPEC="$spec" ATTNSERVE_PEERS_THREADS="$t" \
      ATTNSERVE_PEERS_REPS="$reps" \
      "$bench" --benchmark_filter='^BM_Peers/' --benchmark_format=json \
      --benchmark_out_format=json --benchmark_out="$out/attnserve-t$t.json" \
      > /dev/null
    for engine in hf ort ct2; do
      echo "run.sh: $engine, $t thread(s)" >&2
      "$python" "$here/run_peer.py" "$engine" "$t" "$work" "$minilm" \
        "$out/$engine-t$t.json"
    done
  done
  load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
  cat > "$out/meta.json" <<JSON
{"quick": $([[ -n "$quick" ]] && echo true || echo false), "reps": $reps,
 "models": "${PEERS_MODELS:-}",
 "load_before": "$load_before", "load_after": "$load_after",
 "omp_wait_policy": "${OMP_WAIT_POLICY:-GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-}}", "date": "$(date -Iseconds)"}
JSON
fi
python3 "$here/render.py" "$here/last_run" > "$here/README.md"
cat "$here/README.md"
echo "run.sh: wrote $here/README.md and $here/last_run/peers.json" >&2
