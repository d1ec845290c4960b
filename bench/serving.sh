#!/usr/bin/env bash
# Serving benchmark: attnserve-server under attnserve-loadgen vs the same model
# in process. Writes bench/last_run/serving.json (bench/render_serving.py
# turns it into the README sections). Called by bench/run.sh; runnable alone:
#
#   bench/serving.sh [BUILD_DIR]     (default: build-perf, then build)
#
# For each model (the real all-MiniLM-L6-v2 from deploy/install-deps.sh, and a
# BERT-base-size random-weight folder made by bench/make_bert_base.py under
# bench/work/) and each precision (float32, int8, bfloat16):
#   1. start-up: attnserve-server on 127.0.0.1 (free ports), time from exec to
#      the log's "SERVING" line (health is set SERVING just before it), then a
#      gRPC health check; also the CPU seconds the server used until then and
#      the seconds its threads waited for a CPU held by other processes;
#   2. saturation: attnserve-loadgen closed loop, CONCURRENCY clients, one
#      fixed text (~32 tokens) per call: texts/s, p50/p99; the server's
#      VmRSS (sampled) and VmHWM, and the batches it formed (/metrics);
#   3. half load: open loop at half the measured rate: p50/p99.
# In process: attnserve-bench BM_InprocessEncode with the same folder, text,
# precision, compute threads and batch size (the server's max_batch_size,
# which 32 closed-loop clients fill) -> the gRPC / in-process ratio.
#
# Environment:
#   SERVING_QUICK=1          short runs (development on a shared machine)
#   SERVING_MODELS           default "minilm bert-base"
#   SERVING_DTYPES           default "float32 int8 bfloat16"
#   SERVING_THREADS          server --threads and in-process threads (default:
#                            all cores)
#   SERVING_CONCURRENCY      default 32; SERVING_BATCH (max_batch_size) 32
#   SERVING_DURATION         seconds per load phase (default 30, 60 for
#                            bert-base; quick: 8 / 16)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
source "$here/serving_lib.sh"
bin="$(bin_dir "${1:-}" serving attnserve-server attnserve-loadgen attnserve-client attnserve-bench)"
out="$here/last_run"
json="$out/serving.json"
mkdir -p "$out"
rm -f "$json"  # no stale figures when this run fails

quick="${SERVING_QUICK:-0}"
models="${SERVING_MODELS:-minilm bert-base}"
dtypes="${SERVING_DTYPES:-float32 int8 bfloat16}"
threads="${SERVING_THREADS:-$(nproc)}"
concurrency="${SERVING_CONCURRENCY:-32}"
batch="${SERVING_BATCH:-32}"
work="$here/work"
run="$work/run"
collect="python3 $here/serving_collect.py"
mkdir -p "$run"

# One text of 30 word pieces: 32 tokens with [CLS] and [SEP] (the in-process
# benchmark reports the count it tokenized to).
text="the quick brown fox jumps over the lazy dog while the children watch \
from the small wooden bridge near the old mill by the river at dusk with \
their dog"
printf '%s\n' "$text" > "$work/text.txt"

trap stop_server EXIT

# Samples the server's VmRSS every 0.2 s into $1 (KiB, the maximum seen).
sample_rss() {
  local max=0 kb
  while kill -0 "$server_pid" 2> /dev/null; do
    kb=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status" 2> /dev/null || echo 0)
    ((kb > max)) && max=$kb && echo "$max" > "$1"
    sleep 0.2
  done
}

proc_kib() {  # field of /proc/<server>/status, KiB
  awk -v f="$1:" '$1 == f {print $2}' "/proc/$server_pid/status"
}

loadgen() {  # model json_out seconds [extra flags]
  local model=$1 jout=$2 secs=$3
  shift 3
  "$bin/attnserve-loadgen" --target="127.0.0.1:$port" --encode_model="$model" \
    --concurrency="$concurrency" --duration="${secs}s" \
    --texts_file="$work/text.txt" --json_out="$jout" "$@" > /dev/null
}

# In-process reference: same folder, text, threads, batch.
inprocess_json() {  # model -> prints {dtype: {...}}
  local model=$1 min_time=5
  [[ $quick == 1 ]] && min_time=1
  ATTNSERVE_BENCH_MODEL_DIR="$(model_dir "$model")" \
    ATTNSERVE_BENCH_TEXT="$text" ATTNSERVE_BENCH_BATCHES="$batch,$((batch / 2))" \
    "$bin/attnserve-bench" \
    --benchmark_filter="BM_InprocessEncode/dtype:(0|1|2)/threads:$threads/B:($batch|$((batch / 2)))/" \
    --benchmark_min_time="$min_time" --benchmark_format=json \
    --benchmark_out_format=json --benchmark_out="$run/inprocess-$model.json" \
    > /dev/null
  $collect inprocess "$run/inprocess-$model.json" "$threads" "$batch" \
    "$((batch / 2))"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for model in $models; do
  dir="$(model_dir "$model")"
  if ! ensure_model "$model"; then
    $collect case "$json" model="$model" error="\"$dir missing: run deploy/install-deps.sh\""
    continue
  fi
  secs=$(phase_seconds "$model")
  echo "serving: $model: in-process reference" >&2
  inproc=$(inprocess_json "$model")
  for dtype in $dtypes; do
    echo "serving: $model $dtype" >&2
    weights=$($collect weights "$dir" "$dtype")
    file_bytes=$(stat -c %s "$dir/model.safetensors")
    if ! start_server "$model" "$dtype"; then
      stop_server
      $collect case "$json" model="$model" dtype="$dtype" \
        error="$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$serve_error")"
      continue
    fi
    rss_idle_kib=$(proc_kib VmRSS)
    loadgen "$model" "$run/warmup.json" $((secs / 4 + 1))
    $collect metrics "$metrics_port" "$model" "$run/metrics0.json"
    sample_rss "$run/rss_max" &
    sampler_pid=$!
    cpu0=$(cpu_seconds)
    loadgen "$model" "$run/sat.json" "$secs"
    sat_cpu_s=$(python3 -c "print(round($(cpu_seconds) - $cpu0, 3))")
    rss_hwm_kib=$(proc_kib VmHWM)
    rss_anon_kib=$(proc_kib RssAnon)
    rss_file_kib=$(proc_kib RssFile)
    kill "$sampler_pid" 2> /dev/null || true
    wait "$sampler_pid" 2> /dev/null || true
    sampler_pid=""
    $collect metrics "$metrics_port" "$model" "$run/metrics1.json"
    rate=$(python3 -c "import json; print(json.load(open('$run/sat.json'))['throughput']['ok_per_s'] / 2)")
    loadgen "$model" "$run/half.json" "$secs" --rate="$rate"
    $collect metrics "$metrics_port" "$model" "$run/metrics2.json"
    stop_server
    $collect case "$json" model="$model" dtype="$dtype" folder="\"$dir\"" \
      startup_s="$startup_s" startup_cpu_s="$startup_cpu_s" \
      startup_runq_s="$startup_runq_s" weight_bytes="$weights" file_bytes="$file_bytes" \
      rss_idle_kib="$rss_idle_kib" rss_max_kib="$(cat "$run/rss_max" 2> /dev/null || echo 0)" \
      rss_hwm_kib="$rss_hwm_kib" rss_anon_kib="$rss_anon_kib" rss_file_kib="$rss_file_kib" \
      saturation="@$run/sat.json" sat_cpu_s="$sat_cpu_s" \
      half="@$run/half.json" half_rate="$rate" \
      metrics_before_sat="@$run/metrics0.json" metrics_after_sat="@$run/metrics1.json" \
      metrics_after_half="@$run/metrics2.json" \
      inprocess="$(python3 -c "import json,sys; print(json.dumps(json.loads(sys.argv[1]).get('$dtype')))" "$inproc")"
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
$collect meta "$json" quick="$quick" threads="$threads" concurrency="$concurrency" \
  max_batch_size="$batch" load_before="\"$load_before\"" load_after="\"$load_after\"" \
  nproc="$(nproc)" date="\"$(date -Iseconds)\"" text="\"$text\""
echo "serving: wrote $json" >&2
