#!/usr/bin/env bash
# Peak resident memory under the worst requests the default limits allow, per
# default model (models/default.textproto) and precision: prints the markdown
# table of bench/README.md ("Memory per request").
#
#   bench/memory_limits.sh [BUILD_DIR]     (default: build)
#
# For each model and dtype: attnserve-server on 127.0.0.1 (free ports) serves
# the model alone with its default limits; VmHWM after loading is the weights'
# footprint; then attnserve-loadgen sends WORST_CALLS calls, CONCURRENCY at a
# time, each the largest the limits allow: max_texts_per_request texts of
# max_input_tokens tokens (truncated), and for translation beam max_beam_size
# with max_new_tokens at its limit. VmHWM afterwards is the peak; the bound is
# the load footprint + batching.max_batch_memory_bytes (GetModel).
#
# Environment: MEMORY_MODELS (default "minilm en-de-numbers"), MEMORY_DTYPES
# (default "float32 int8"), WORST_CALLS (default 4), CONCURRENCY (default 2).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build}"
bin="$build/bin"
models="${MEMORY_MODELS:-minilm en-de-numbers}"
dtypes="${MEMORY_DTYPES:-float32 int8}"
calls="${WORST_CALLS:-4}"
concurrency="${CONCURRENCY:-2}"
run="$(mktemp -d)"
trap 'kill "${server_pid:-0}" 2> /dev/null || true; rm -rf "$run"' EXIT

hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$server_pid/status"; }

start_server() {  # name path dtype
  local log="$run/$1-$3.log"
  "$bin/attnserve-server" --model="$1=$2" --dtype="$3" --host=127.0.0.1 \
    --port=0 --metrics_address=127.0.0.1 --metrics_port=0 > "$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 3000); do
    grep -q "SERVING with" "$log" && break
    kill -0 "$server_pid" 2> /dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  port=$(sed -n 's/.*gRPC listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
}

# A text longer than any model's max_input_tokens (truncated to it).
python3 -c "print(' '.join(['one two three four five six seven eight nine ten'] * 120))" \
  > "$run/long.txt"

echo "| model | dtype | calls (texts x tokens, beams, new tokens) | max_batch_memory_bytes | VmHWM loaded | VmHWM peak | bound (loaded + budget) | codes |"
echo "|---|---|---|---|---|---|---|---|"
while read -r name path; do
  [[ " $models " == *" $name "* ]] || continue
  for dtype in $dtypes; do
    start_server "$name" "$root/models/$path" "$dtype"
    info=$("$bin/attnserve-client" --target="127.0.0.1:$port" model "$name")
    budget=$(grep -o 'max_batch_memory_bytes=[0-9]*' <<< "$info" | grep -o '[0-9]*$' || true)
    texts=$(grep -o 'max_texts_per_request=[0-9]*' <<< "$info" | grep -o '[0-9]*$')
    tokens=$(grep -o 'max_input_tokens=[0-9]*' <<< "$info" | head -1 | grep -o '[0-9]*$')
    loaded=$(hwm_kb)
    if [[ $name == en-de-numbers ]]; then
      beams=$(grep -o 'max_beam_size=[0-9]*' <<< "$info" | grep -o '[0-9]*$')
      new=$(grep -o 'max_new_tokens=[0-9]*' <<< "$info" | head -1 | grep -o '[0-9]*$')
      mix="translate=1 --beam=$beams --max_new_tokens=$new --translate_model=$name"
      shape="$texts x $tokens, $beams, $new"
    else
      mix="encode=1 --encode_model=$name"
      shape="$texts x $tokens"
    fi
    # shellcheck disable=SC2086
    "$bin/attnserve-loadgen" --target="127.0.0.1:$port" --mix=$mix \
      --texts_file="$run/long.txt" --texts_per_request="$texts" \
      --requests="$calls" --concurrency="$concurrency" --duration=0 \
      --deadline=600s --json_out="$run/out.json" > /dev/null
    peak=$(hwm_kb)
    codes=$(python3 -c "import json; print(json.load(open('$run/out.json'))['codes'])")
    kill "$server_pid"
    wait "$server_pid" 2> /dev/null || true
    bound=$((loaded + ${budget:-0} / 1024))
    echo "| $name | $dtype | $calls x ($shape) | $((${budget:-0} >> 20)) MiB | $((loaded / 1024)) MiB | $((peak / 1024)) MiB | $((bound / 1024)) MiB | $codes |"
  done
done << EOF
minilm all-MiniLM-L6-v2
en-de-numbers demo-en-de-numbers
EOF
