#!/usr/bin/env bash
# Regenerates bench/README.md: runs attnserve-bench (JSON) and renders markdown
# tables with the machine's ISA (lscpu flags), load and the oneDNN kernels.
#
#   bench/run.sh [BUILD_DIR]        (default: build-perf, then build)
#   BENCH_FILTER=regex bench/run.sh (subset; the README then lists only it)
#   RERANK_ONLY=1 bench/run.sh      (only the BM_Rerank rows, into
#                                   last_run/rerank.json; the rest of the
#                                   README is re-rendered from last_run/)
#   RERANK_THREADS=2                (with RERANK_ONLY: only that thread count)
#   OpenMP waits as attnserve-server does (GOMP_SPINCOUNT=100000: a spin of
#   about 1 ms, then sleep) unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set.
#   SERVING=0 bench/run.sh          (leave out the serving benchmark)
#   SERVING_QUICK=1 bench/run.sh    (short serving phases; see serving.sh)
#   INTERACTIVE=0 bench/run.sh      (leave out bench/interactive.sh: one short
#                                   call at a time and many, seen by ghz)
# Then bench/serving.sh (attnserve-server under attnserve-loadgen vs the core
# in process) writes last_run/serving.json; bench/render_serving.py appends
# its sections to the README and draws the PNGs (batch sweep per precision,
# 1 vs 2 threads) with matplotlib from the bench venv (.venv-bench, made on
# first use by bench/bench_venv.sh). The serving benchmark needs the servers'
# binaries in the same build dir:
#   ninja -C BUILD attnserve-bench attnserve-server attnserve-loadgen attnserve-client
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-}"
if [[ -z "$build" ]]; then
  for d in "$root/build-perf" "$root/build"; do
    [[ -x "$d/bin/attnserve-bench" ]] && build="$d" && break
  done
fi
bench="$build/bin/attnserve-bench"
[[ -x "$bench" ]] || { echo "attnserve-bench not found; build it: ninja -C <build> attnserve-bench" >&2; exit 1; }

# Raw results are kept next to the README (re-render without re-running:
# RENDER_ONLY=1 bench/run.sh).
out="$here/last_run"
mkdir -p "$out"
if [[ -z "${OMP_WAIT_POLICY:-}" && -z "${GOMP_SPINCOUNT:-}" ]]; then
  export GOMP_SPINCOUNT=100000  # as attnserve-server (server/main.cc)
fi
policy="${OMP_WAIT_POLICY:+OMP_WAIT_POLICY=$OMP_WAIT_POLICY}"
policy="${policy:-GOMP_SPINCOUNT=$GOMP_SPINCOUNT}"
# The rerank rows alone (a full run's bench.json has them too).
if [[ -n "${RERANK_ONLY:-}" && -z "${RENDER_ONLY:-}" ]]; then
  before="$(cut -d' ' -f1-3 /proc/loadavg)"
  "$bench" --benchmark_format=json --benchmark_out_format=json \
    --benchmark_out="$out/rerank.json" \
    --benchmark_filter="^BM_Rerank/.*/threads:${RERANK_THREADS:-[0-9]+}/" > /dev/null
  echo "$before / $(cut -d' ' -f1-3 /proc/loadavg)" > "$out/rerank_load.txt"
  RENDER_ONLY=1
fi
if [[ -z "${RENDER_ONLY:-}" ]]; then
  lscpu > "$out/lscpu.txt"
  cut -d' ' -f1-3 /proc/loadavg > "$out/load_before.txt"
  "$bench" --benchmark_format=json --benchmark_out_format=json \
    --benchmark_out="$out/bench.json" \
    --benchmark_filter="${BENCH_FILTER:-.}" > /dev/null
  # The small-batch cases again with passive OpenMP waiting (futex sleep at
  # every barrier), for the wait-policy table.
  env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=PASSIVE "$bench" --benchmark_format=json \
    --benchmark_out_format=json --benchmark_out="$out/active.json" \
    --benchmark_filter='BM_Encoder/model:0/B:1/T:16/dtype:(0|2)/' > /dev/null
  cut -d' ' -f1-3 /proc/loadavg > "$out/load_after.txt"
fi
load_before="$(cat "$out/load_before.txt")"
load_after="$(cat "$out/load_after.txt")"

# The architecture rows: a full run's bench.json has them; architectures.json
# holds a separate run of only those rows (BENCH_FILTER, see README) until then.
# The same for the rerank rows and rerank.json (RERANK_ONLY).
[[ -z "${RENDER_ONLY:-}" ]] && rm -f "$out/architectures.json" "$out/rerank.json" "$out/rerank_load.txt"
arch_json="$out/bench.json"
[[ -s "$out/architectures.json" ]] && arch_json="$out/architectures.json"
rerank=(--rerank-json "$out/bench.json" --rerank-load "$load_before / $load_after")
[[ -s "$out/rerank.json" ]] &&
  rerank=(--rerank-json "$out/rerank.json" --rerank-load "$(cat "$out/rerank_load.txt")")
python3 "$here/render_readme.py" --json "$out/bench.json" --arch-json "$arch_json" \
  "${rerank[@]}" \
  --lscpu "$out/lscpu.txt" --load "$load_before" --load "$load_after" \
  --omp-wait-policy "$policy" --csv "$out/sweep.csv" \
  --active-json "$out/active.json" \
  > "$out/README.md.new"

if [[ -z "${RENDER_ONLY:-}" && "${SERVING:-1}" != 0 ]]; then
  "$here/serving.sh" "$build" ||
    echo "bench/serving.sh failed: the README has no serving sections" >&2
fi
if [[ -z "${RENDER_ONLY:-}" && "${INTERACTIVE:-1}" != 0 ]]; then
  "$here/interactive.sh" "$build" ||
    echo "bench/interactive.sh failed: the README has no interactive section" >&2
fi

# The PNGs are drawn from a new run's data only (RENDER_ONLY and RERANK_ONLY
# keep the ones on disk, drawn from the same last_run/ files).
source "$here/bench_venv.sh"
pngs=()
if [[ -n "${RENDER_ONLY:-}" ]]; then
  :
elif py="$(bench_python)"; then
  [[ -s "$out/sweep.csv" ]] &&
    "$py" "$here/render_serving.py" --plot-sweep "$out/sweep.csv" "$here"
  [[ -s "$out/bench.json" ]] &&
    "$py" "$here/render_serving.py" --plot-threads "$out/bench.json" \
      "$here/thread_scaling.png"
else
  echo "no matplotlib: skipping the PNGs" >&2
fi
for p in batch_sweep_f32.png batch_sweep_int8.png thread_scaling.png; do
  [[ -s "$here/$p" ]] && pngs+=(--png "$p")
done
serving_json=()
[[ -s "$out/serving.json" ]] && serving_json=(--json "$out/serving.json")
echo >> "$out/README.md.new"
python3 "$here/render_serving.py" "${serving_json[@]}" "${pngs[@]}" \
  >> "$out/README.md.new"
if [[ -s "$out/interactive.json" ]]; then
  echo >> "$out/README.md.new"
  python3 "$here/render_interactive.py" render "$out/interactive.json" \
    >> "$out/README.md.new"
fi
# The peers' ratio tables, as bench/peers/run.sh last wrote them (its own
# command and venv: it is not re-run here).
peers="$here/peers/README.md"
if [[ -s "$peers" ]]; then
  {
    echo
    echo "## Peers (from \`bench/peers/run.sh\`, run $(grep -m1 '^| date' "$peers" | cut -d'|' -f3 | xargs))"
    echo
    echo "Copied from [peers/README.md](peers/README.md), which has the tokens/s of every engine, the machine load and what could not run."
    awk '/^## .*attnserve \/ peer/{p=1; print "#" $0; next} /^## /{p=0} p' "$peers"
  } >> "$out/README.md.new"
fi
# Memory per request and overload, as bench/memory_limits.sh and
# bench/overload.sh last measured them (hand-run: they start servers).
if [[ -s "$here/limits.md" ]]; then
  { echo; cat "$here/limits.md"; } >> "$out/README.md.new"
fi
# Replaced only when every renderer succeeded (set -e stops before).
mv "$out/README.md.new" "$here/README.md"
echo "wrote $here/README.md" >&2
