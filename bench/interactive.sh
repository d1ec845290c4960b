#!/usr/bin/env bash
# Interactive latency and small calls: attnserve-server seen from outside by a
# third-party gRPC load generator (ghz, installed from the Go module proxy into
# bench/work/go) next to the same forward pass in process. Writes
# bench/last_run/interactive.json; bench/render_interactive.py renders the
# README section. Called by bench/run.sh; runnable alone:
#
#   bench/interactive.sh [BUILD_DIR]     (default: build-perf, then build)
#
# For each model (the real all-MiniLM-L6-v2, and the BERT-base-size folder of
# bench/make_bert_base.py) and precision (float32, bfloat16, int8), one short
# text of 16 tokens per call:
#   1. one call at a time (ghz -c 1), with 1 compute thread and with all
#      cores: p50/p90 over gRPC, and the server's compute per call
#      (attnserve_compute_seconds) -- against the in-process forward of the
#      same text (attnserve-bench BM_InprocessEncode B:1, back to back);
#   2. many short calls (ghz -c 8 and -c 32, all cores): calls/s and the
#      batches the server formed (its /metrics) -- against the in-process
#      forward at those batch sizes (interpolated between measured sizes).
#
# Environment: INTERACTIVE_QUICK=1 (fewer calls, shorter phases),
# INTERACTIVE_MODELS (default "minilm bert-base"), INTERACTIVE_DTYPES
# (default "float32 bfloat16 int8").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
source "$here/serving_lib.sh"
bin="$(bin_dir "${1:-}" interactive attnserve-server attnserve-bench attnserve-client)"
out="$here/last_run"
json="$out/interactive.json"
mkdir -p "$out"
rm -f "$json"
quick="${INTERACTIVE_QUICK:-0}"
models="${INTERACTIVE_MODELS:-minilm bert-base}"
dtypes="${INTERACTIVE_DTYPES:-float32 bfloat16 int8}"
cores="$(nproc)"
batch=32
work="$here/work"
run="$work/interactive"
mkdir -p "$run"
trap stop_server EXIT

# ghz from the Go module proxy (no Debian package); its own .proto parser
# predates proto3 `optional`, so it gets a descriptor set.
ghz="$work/go/bin/ghz"
if [[ ! -x "$ghz" ]]; then
  echo "interactive: installing ghz into $work/go" >&2
  GOPATH="$work/go" GOFLAGS=-modcacherw go install github.com/bojand/ghz/cmd/ghz@latest >&2
fi
protoc -I"$root/proto" -I/usr/include --include_imports \
  --descriptor_set_out="$run/api.protoset" "$root"/proto/attnserve/v1/*.proto

# 14 word pieces: 16 tokens with [CLS] and [SEP] (a search box's query).
text="the quick brown fox jumps over the lazy dog near the quiet river today"
calls=300 secs=10
[[ $quick == 1 ]] && calls=100 secs=4

ghz_run() {  # model out.json ghz-flags...: ghz's JSON report
  local model=$1 jout=$2
  shift 2
  "$ghz" --insecure --protoset "$run/api.protoset" \
    --call attnserve.v1.Inference/Encode \
    -d "{\"model\":\"$model\",\"texts\":[\"$text\"]}" \
    --format=json --output="$jout" "$@" "127.0.0.1:$port" > /dev/null
}

collect="python3 $here/render_interactive.py"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for model in $models; do
  dir="$(model_dir "$model")"
  if ! ensure_model "$model"; then
    echo "interactive: $dir missing (deploy/install-deps.sh)" >&2
    continue
  fi
  echo "interactive: $model: in-process reference" >&2
  ATTNSERVE_BENCH_MODEL_DIR="$dir" ATTNSERVE_BENCH_TEXT="$text" \
    ATTNSERVE_BENCH_BATCHES="1,2,4,8,16,32" "$bin/attnserve-bench" \
    --benchmark_filter="BM_InprocessEncode/" \
    --benchmark_min_time="$([[ $quick == 1 ]] && echo 0.3 || echo 1)" \
    --benchmark_format=json --benchmark_out_format=json \
    --benchmark_out="$run/inprocess-$model.json" > /dev/null
  for dtype in $dtypes; do
    for threads in 1 "$cores"; do
      echo "interactive: $model $dtype threads=$threads" >&2
      if ! start_server "$model" "$dtype"; then
        echo "interactive: $model $dtype: $serve_error" >&2
        stop_server
        continue
      fi
      ghz_run "$model" "$run/warm.json" -c 1 -n 30
      prefix="$run/$model-$dtype-t$threads"
      $collect scrape "$metrics_port" "$model" > "$prefix-m0.json"
      ghz_run "$model" "$prefix-c1.json" -c 1 -n "$calls"
      $collect scrape "$metrics_port" "$model" > "$prefix-m1.json"
      if [[ $threads == "$cores" ]]; then
        for c in 8 32; do
          ghz_run "$model" "$run/warm.json" -c "$c" -n $((c * 10))
          $collect scrape "$metrics_port" "$model" > "$prefix-c$c-m0.json"
          ghz_run "$model" "$prefix-c$c.json" -c "$c" -z "${secs}s"
          $collect scrape "$metrics_port" "$model" > "$prefix-c$c-m1.json"
        done
      fi
      stop_server
    done
  done
done
cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
isa="$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
  grep -E '^(avx2|avx512f|avx512_vnni|avx512_bf16|amx_tile|amx_int8|amx_bf16)$' | xargs)"
$collect assemble "$run" "$json" --models "$models" --dtypes "$dtypes" \
  --cpu "$cpu" --isa "$isa" \
  --cores "$cores" --text "$text" --load-before "$load_before" \
  --load-after "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "interactive: wrote $json" >&2
