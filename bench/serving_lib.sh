# Sourced by bench/serving.sh and bench/interactive.sh: the benchmark models'
# folders and starting/stopping attnserve-server on free loopback ports. The
# sourcing script sets here, root, bin, work, run, batch (max_batch_size),
# threads and quick, and calls stop_server on exit.

# bin_dir BUILD_DIR NAME BINARY...: the bin/ of BUILD_DIR (default: build-perf,
# then build, under root); exits 2 naming the first BINARY missing there.
bin_dir() {
  local build=$1 name=$2 d b
  shift 2
  if [[ -z "$build" ]]; then
    for d in "$root/build-perf" "$root/build"; do
      [[ -x "$d/bin/attnserve-server" ]] && build="$d" && break
    done
  fi
  for b in "$@"; do
    [[ -x "${build:-$root/build}/bin/$b" ]] || {
      echo "$name: ${build:-$root/build}/bin/$b missing; build it: ninja -C <build> $b" >&2
      exit 2
    }
  done
  echo "${build:-$root/build}/bin"
}
model_dir() {
  case "$1" in
    minilm) echo "$root/models/all-MiniLM-L6-v2" ;;
    bert-base) echo "$work/bert-base" ;;
  esac
}

phase_seconds() {  # model -> seconds per load phase
  if [[ -n "${SERVING_DURATION:-}" ]]; then echo "$SERVING_DURATION"; return; fi
  local s=30
  [[ $1 == bert-base ]] && s=60
  [[ $quick == 1 ]] && s=$((s / 4 + 1))
  echo "$s"
}

ensure_model() {  # model -> 0 when its folder is there (made if possible)
  local dir
  dir="$(model_dir "$1")"
  [[ -s "$dir/model.safetensors" ]] && return 0
  if [[ $1 == bert-base ]]; then
    local minilm
    minilm="$(model_dir minilm)"
    [[ -s "$minilm/vocab.txt" ]] || return 1
    # numpy lives in the bench venv (bench/bench_venv.sh).
    "$(bench_python)" "$here/make_bert_base.py" --tokenizer "$minilm" "$dir" \
      >&2 || return 1
    return 0
  fi
  return 1
}
source "$here/bench_venv.sh"

server_pid=""
sampler_pid=""
stop_server() {
  if [[ -n $sampler_pid ]]; then
    kill "$sampler_pid" 2> /dev/null || true
    wait "$sampler_pid" 2> /dev/null || true
  fi
  sampler_pid=""
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2> /dev/null; then
    kill -TERM "$server_pid"
    for _ in $(seq 300); do
      kill -0 "$server_pid" 2> /dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
  fi
  server_pid=""
}

# Starts the server for model $1 in precision $2; sets port, metrics_port,
# startup_s, or serve_error (and returns 1) when it does not reach SERVING.
start_server() {
  local name=$1 dtype=$2 log="$run/$1-$2.log"
  cat > "$run/models.txtpb" << EOF
model { name: "$name" path: "$(model_dir "$name")" batching { max_batch_size: $batch } }
EOF
  port="" metrics_port="" startup_s="" startup_cpu_s="" startup_runq_s=""
  serve_error=""
  local t0=$EPOCHREALTIME
  "$bin/attnserve-server" --config="$run/models.txtpb" --dtype="$dtype" \
    --host=127.0.0.1 --port=0 --metrics_address=127.0.0.1 --metrics_port=0 \
    --threads="$threads" > "$log" 2>&1 &
  server_pid=$!
  local deadline=$((SECONDS + 300))
  while ((SECONDS < deadline)); do
    grep -q "NOT_SERVING" "$log" && break  # a model failed to load
    if grep -q "SERVING with" "$log"; then
      startup_s=$(python3 -c "print(round($EPOCHREALTIME - $t0, 3))")
      startup_cpu_s=$(cpu_seconds)
      startup_runq_s=$(runqueue_seconds)
      break
    fi
    kill -0 "$server_pid" 2> /dev/null || break
    sleep 0.01
  done
  port=$(sed -n 's/.*gRPC listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  metrics_port=$(sed -n 's|.*metrics on http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' "$log" | head -1)
  if grep -q "NOT_SERVING" "$log" || [[ -z $startup_s ]]; then
    serve_error=$(grep -m1 "failed to load" "$log" | sed 's/.*failed to load from [^:]*: //')
    [[ -n $serve_error ]] || serve_error="no SERVING within 300 s: $(tail -c 300 "$log")"
    startup_s=""
    return 1
  fi
  if ! "$bin/attnserve-client" --target="127.0.0.1:$port" health > /dev/null; then
    serve_error="log says SERVING but the health check does not"
    return 1
  fi
}

# CPU seconds (user + system) the server has used: the start-up's own cost,
# which other processes' load does not stretch as it does the wall time.
cpu_seconds() {
  local f
  f=$(sed 's/.*) //' "/proc/$server_pid/stat")
  awk -v t="$(getconf CLK_TCK)" '{print ($12 + $13) / t}' <<< "$f"
}

# Seconds the server's threads spent runnable but waiting for a CPU (from
# /proc/<pid>/task/*/schedstat): how much of the wall time other processes
# took.
runqueue_seconds() {
  cat /proc/"$server_pid"/task/*/schedstat 2> /dev/null |
    awk '{w += $2} END {print w / 1e9}'
}
