#!/usr/bin/env bash
# Regenerates bench/README.md: runs attnserve-bench (JSON) and renders markdown
# tables with the machine's ISA (lscpu flags), load and the oneDNN kernels.
#
#   bench/run.sh [BUILD_DIR]        (default: build-perf, then build)
#   BENCH_FILTER=regex bench/run.sh (subset; the README then lists only it)
#   OMP_WAIT_POLICY is PASSIVE unless set (see README: spinning barriers).
# A PNG of the batch sweep is drawn when gnuplot or matplotlib is available.
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
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
if [[ -z "${RENDER_ONLY:-}" ]]; then
  lscpu > "$out/lscpu.txt"
  cut -d' ' -f1-3 /proc/loadavg > "$out/load_before.txt"
  "$bench" --benchmark_format=json --benchmark_out_format=json \
    --benchmark_out="$out/bench.json" \
    --benchmark_filter="${BENCH_FILTER:-.}" > /dev/null
  # The small-batch cases again with spinning OpenMP barriers, for the
  # wait-policy table.
  OMP_WAIT_POLICY=ACTIVE "$bench" --benchmark_format=json \
    --benchmark_out_format=json --benchmark_out="$out/active.json" \
    --benchmark_filter='BM_Encoder/model:0/B:1/T:16/dtype:(0|2)/' > /dev/null
  cut -d' ' -f1-3 /proc/loadavg > "$out/load_after.txt"
fi
load_before="$(cat "$out/load_before.txt")"
load_after="$(cat "$out/load_after.txt")"

python3 "$here/render_readme.py" --json "$out/bench.json" \
  --lscpu "$out/lscpu.txt" --load "$load_before" --load "$load_after" \
  --omp-wait-policy "$OMP_WAIT_POLICY" --csv "$out/sweep.csv" \
  --active-json "$out/active.json" \
  > "$here/README.md"

png="$here/batch_sweep.png"
if command -v gnuplot > /dev/null && [[ -s "$out/sweep.csv" ]]; then
  gnuplot <<GP
set terminal png size 800,500
set output "$png"
set datafile separator ","
set xlabel "batch size (32 tokens)"; set ylabel "tokens/s"; set y2label "latency ms"
set logscale x 2; set y2tics
plot "$out/sweep.csv" using 1:2 with linespoints title "f32 tokens/s", \
     "" using 1:4 with linespoints title "int8 tokens/s", \
     "" using 1:3 axes x1y2 with linespoints title "f32 ms", \
     "" using 1:5 axes x1y2 with linespoints title "int8 ms"
GP
elif python3 -c "import matplotlib" 2> /dev/null; then
  python3 "$here/render_readme.py" --plot "$out/sweep.csv" "$png"
else
  echo "no gnuplot/matplotlib: skipping $png" >&2
fi
echo "wrote $here/README.md" >&2
