#!/usr/bin/env bash
# Graceful overload of one Encode model: prints the markdown table of
# bench/README.md ("Overload").
#
#   bench/overload.sh [BUILD_DIR]     (default: build)
#
# attnserve-server on 127.0.0.1 (free ports) serves MODEL (default: minilm,
# the real all-MiniLM-L6-v2) in DTYPE (default float32) with its default
# limits. Then attnserve-loadgen, one built-in sentence per call:
#   1. saturation: closed loop, 32 clients, SATURATION_S seconds: OK calls/s;
#   2. overload: open loop at FACTOR (default 4) x that rate for OVERLOAD_S
#      (default 30) seconds, every call with a DEADLINE (default 200ms):
#      OK calls/s (goodput), codes, p50/p99 of the OK calls; and the server's
#      attnserve_requests_total by code (which must equal the client's) and
#      attnserve_expired_texts_total.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build}"
bin="$build/bin"
model="${MODEL:-minilm}"
dtype="${DTYPE:-float32}"
factor="${FACTOR:-4}"
saturation_s="${SATURATION_S:-15}"
overload_s="${OVERLOAD_S:-30}"
deadline="${DEADLINE:-200ms}"
run="$(mktemp -d)"
trap 'kill "${server_pid:-0}" 2> /dev/null || true; rm -rf "$run"' EXIT

log="$run/server.log"
"$bin/attnserve-server" --config="$root/models/default.textproto" \
  --dtype="$dtype" --host=127.0.0.1 --port=0 --metrics_address=127.0.0.1 \
  --metrics_port=0 > "$log" 2>&1 &
server_pid=$!
for _ in $(seq 3000); do
  grep -q "SERVING with" "$log" && break
  kill -0 "$server_pid" 2> /dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
port=$(sed -n 's/.*gRPC listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
metrics_port=$(sed -n 's|.*metrics on http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' "$log" | head -1)

loadgen() {  # json_out, flags...
  local out=$1
  shift
  "$bin/attnserve-loadgen" --target="127.0.0.1:$port" --mix=encode=1 \
    --encode_model="$model" --json_out="$out" "$@" > /dev/null
}

loadgen "$run/saturation.json" --concurrency=32 --duration="${saturation_s}s" \
  --deadline=30s
saturation=$(python3 -c "import json; print(json.load(open('$run/saturation.json'))['throughput']['ok_per_s'])")
rate=$(python3 -c "print(round($factor * $saturation, 1))")
sat_after=$(curl -s "http://127.0.0.1:$metrics_port/metrics")
before=$sat_after
loadgen "$run/overload.json" --rate="$rate" --concurrency=128 \
  --duration="${overload_s}s" --deadline="$deadline"
after=$(curl -s "http://127.0.0.1:$metrics_port/metrics")

python3 - "$run/saturation.json" "$run/overload.json" "$model" "$dtype" \
  "$factor" "$deadline" << EOF
import json, re, sys
sat, over = (json.load(open(p)) for p in sys.argv[1:3])
model, dtype, factor, deadline = sys.argv[3:7]
def series(text, name, labels):
    m = re.search(re.escape(name + "{" + labels + "}") + r" (\S+)", text)
    return float(m.group(1)) if m else 0.0
before, after = """$before""", """$after"""
sat_after = """$sat_after"""
server = {}
for code in over["codes"]:
    labels = f'code="{code}",method="encode",model="{model}"'
    server[code] = int(series(after, "attnserve_requests_total", labels) -
                       series(before, "attnserve_requests_total", labels))
labels = f'method="encode",model="{model}"'
expired = int(series(after, "attnserve_expired_texts_total", labels) -
              series(before, "attnserve_expired_texts_total", labels))
s, o = sat["throughput"]["ok_per_s"], over["throughput"]["ok_per_s"]
print("| phase | offered calls/s | OK calls/s | OK p50 / p99 | codes (client) | codes (server) |")
print("|---|---|---|---|---|---|")
print(f"| saturation (closed loop, 32 clients) | - | {s:.0f} | "
      f"{sat['latency']['p50_ms']:.1f} / {sat['latency']['p99_ms']:.1f} ms | "
      f"{sat['codes']} | - |")
print(f"| {factor}x open loop {over['elapsed_s']:.0f} s, deadline {deadline} | "
      f"{over['config']['rate']:.0f} | {o:.0f} ({100 * o / s:.0f} % of saturation) | "
      f"{over['latency']['p50_ms']:.1f} / {over['latency']['p99_ms']:.1f} ms | "
      f"{over['codes']} | {server} |")
def batches(a, b, elapsed):
    d = lambda n: series(b, n, labels) - series(a, n, labels)
    return (f"mean batch {d('attnserve_batch_size_sum') / max(1, d('attnserve_batch_size_count')):.1f} texts, "
            f"model busy {100 * d('attnserve_compute_seconds_sum') / elapsed:.0f} % of the time, "
            f"{d('attnserve_batch_size_sum') / max(1e-9, d('attnserve_compute_seconds_sum')):.0f} texts per compute second")
print(f"\nsaturation: {batches('', sat_after, sat['elapsed_s'])}; "
      f"overload: {batches(before, after, over['elapsed_s'])}; "
      f"max start lag {over['max_start_lag_ms']:.1f} ms; "
      f"texts dropped expired in the queue: {expired}")
EOF
