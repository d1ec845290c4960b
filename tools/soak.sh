#!/usr/bin/env bash
# Soak-and-fault test of attnserve-server.
#
#   tools/soak.sh [DURATION_SECONDS=300]      (BUILD_DIR=build by default)
#
# Starts build/bin/attnserve-server on 127.0.0.1 (free ports) with the golden models, each
# served twice: "enc"/"tr" get the load whose every call the server must answer (normal,
# oversized, malformed, slow readers), "enc-faults"/"tr-faults" the calls a client may end
# alone (cancelled, short deadlines, reset connections). After a warm-up it records the RSS,
# runs attnserve-loadgen with every fault mode for DURATION seconds, then checks:
#   1. every call got a proper code (no INTERNAL/UNKNOWN for good calls, no OK for bad ones);
#   2. the server's attnserve_requests_total (this run's increase) equals the client's counts
#      exactly per (model, method, code) for enc/tr and the unlabelled series (model="":
#      unknown model NOT_FOUND, invalid UTF-8 INVALID_ARGUMENT), and is within the bounds
#      the client can know for enc-faults/tr-faults (OK at least the client's OK, total at
#      most the client's total, lossy calls that ended before their request arrived included);
#   3. the server still computes the golden results (Encode within 1e-5 of HF's
#      mean_pooled_normalized, greedy Translate ids equal to HF's);
#   4. RSS growth after warm-up <= 64 MiB or <= 25 % of the warm RSS;
#   5. SIGTERM drains and exits 0.
# Prints a summary; exits 1 when a check fails (2 on a setup error).
# SOAK_INVALID_UTF8=0 leaves out the invalid-UTF-8 calls (by default every one must get
# INVALID_ARGUMENT).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${1:-300}
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
BIN=$BUILD_DIR/bin
PY=${PYTHON:-$ROOT/.venv/bin/python}
DATA=$ROOT/tests/data
CONCURRENCY=${SOAK_CONCURRENCY:-6}
WARMUP=$(( DURATION < 60 ? 10 : 20 ))
RSS_BOUND_MIB=64
RSS_BOUND_PCT=25
INVALID_UTF8=${SOAK_INVALID_UTF8:-1}

die() { echo "soak: $*" >&2; exit 2; }
[[ $DURATION =~ ^[0-9]+$ && $DURATION -gt 0 ]] || die "duration must be a positive number of seconds"
for b in attnserve-server attnserve-loadgen; do
  [[ -x $BIN/$b ]] || die "$BIN/$b missing: build it (BUILD_DIR=$BUILD_DIR)"
done
[[ -x $PY ]] || die "$PY missing: run deploy/install-deps.sh (the project venv)"

WORK=$(mktemp -d /tmp/attnserve-soak.XXXXXX)
SERVER_PID=""
SAMPLER_PID=""
cleanup() {
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
  fi
  [[ ${SOAK_KEEP:-0} = 1 ]] && echo "soak: kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

# --- python helpers (generated stubs in $WORK/py) ---------------------------------------------
mkdir -p "$WORK/py"
"$PY" -m grpc_tools.protoc -I "$ROOT/proto" --python_out="$WORK/py" --grpc_python_out="$WORK/py" \
  "$ROOT/proto/attnserve/v1/attnserve.proto" || die "protoc (grpc_tools) failed"
cat > "$WORK/soak_check.py" <<'PYEOF'
"""Checks of tools/soak.sh: metrics scraping, counter agreement, golden results."""
import json, re, struct, sys, time, urllib.request
import numpy as np

def scrape(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    counts, in_flight = {}, 0.0
    for line in text.splitlines():
        m = re.match(r'^(attnserve_requests_total|attnserve_in_flight)\{(.*)\} (\S+)$', line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        if m.group(1) == "attnserve_in_flight":
            in_flight += float(m.group(3))
        else:
            counts[f'{labels["model"]}|{labels["method"]}|{labels["code"]}'] = float(m.group(3))
    return counts, in_flight

def cmd_scrape(port, out):
    # Waits until no call is in flight (cancelled calls may still be finishing).
    deadline = time.time() + 60
    while True:
        counts, in_flight = scrape(port)
        if in_flight == 0 or time.time() > deadline:
            break
        time.sleep(0.2)
    json.dump({"counts": counts, "in_flight": in_flight}, open(out, "w"))
    return 0 if in_flight == 0 else 1

METHOD = {"encode": "encode", "translate": "translate", "stream": "translate_stream"}
LOSSY = {"cancel", "short_deadline", "disconnect"}  # the client may end these alone

def cmd_compare(before_path, after_path, loadgen_path, main_models, fault_models, expect_utf8):
    before = json.load(open(before_path))["counts"]
    after = json.load(open(after_path))["counts"]
    report = json.load(open(loadgen_path))
    main_models, fault_models = main_models.split(","), fault_models.split(",")
    server = {}
    for key, v in after.items():
        model, method, code = key.split("|")
        if method not in METHOD.values():
            continue
        d = v - before.get(key, 0)
        if d:
            server[(model, method, code)] = server.get((model, method, code), 0) + d
    exact_client, lossy_client, utf8 = {}, {}, {}
    for o in report["outcomes"]:
        model = o["model"] if o["model"] in main_models + fault_models else ""
        key = (model, METHOD[o["kind"]], o["code"])
        if o["fault"] == "invalid_utf8":
            # The server refuses the request before trusting any field of it, so it counts
            # the call without a model label; every one must be INVALID_ARGUMENT.
            key = ("", METHOD[o["kind"]], o["code"])
            exact_client[key] = exact_client.get(key, 0) + o["count"]
            utf8[o["code"]] = utf8.get(o["code"], 0) + o["count"]
        elif o["fault"] in LOSSY:
            lossy_client[key] = lossy_client.get(key, 0) + o["count"]
        else:
            exact_client[key] = exact_client.get(key, 0) + o["count"]
    failures, lines = [], []
    bad_lossy_routing = [k for k in lossy_client if k[0] not in fault_models]
    if bad_lossy_routing:
        failures.append(f"lossy calls reached exact-compared models: {bad_lossy_routing}")
    # A lossy call that ends before its request message reaches the server is counted
    # CANCELLED or DEADLINE_EXCEEDED without a model label (the server never saw its model):
    # bounded below per method together with the fault models' counts.
    unattributed = {}
    for key in [k for k in server if k[0] == "" and k[2] in ("CANCELLED", "DEADLINE_EXCEEDED")]:
        unattributed[key[1]] = unattributed.get(key[1], 0) + server.pop(key)
    # Exact: every (model, method, code) of the main models and the unknown-model label.
    exact_keys = set(exact_client) | {k for k in server if k[0] not in fault_models}
    exact_equal = 0
    for key in sorted(exact_keys):
        c, s = exact_client.get(key, 0), server.get(key, 0)
        if c == s:
            exact_equal += c
        else:
            failures.append(f"exact {key}: client {c} != server {s:g}")
    lines.append(f"exact: {len(exact_keys)} (model, method, code) series, {exact_equal} calls, "
                 f"{'all equal' if not [f for f in failures if f.startswith('exact')] else 'MISMATCH'}")
    for method in METHOD.values():
        ct = sum(v for k, v in lossy_client.items() if k[1] == method)
        st = sum(v for k, v in server.items() if k[0] in fault_models and k[1] == method)
        u = unattributed.get(method, 0)
        if u:
            lines.append(f"unattributed {method}: {u:g} lossy calls ended before their request "
                         f"arrived (counted without a model label)")
        if st + u > ct:
            failures.append(f"{method}: the server counted {st + u:g} lossy calls "
                            f"({u:g} without a model label), the client made {ct}")
    # Bounded: per fault model and method.
    for model in fault_models:
        for method in METHOD.values():
            c = {k[2]: v for k, v in lossy_client.items() if k[:2] == (model, method)}
            s = {k[2]: v for k, v in server.items() if k[:2] == (model, method)}
            ct, st = sum(c.values()), sum(s.values())
            if ct == 0 and st == 0:
                continue
            cok, sok = c.get("OK", 0), s.get("OK", 0)
            ok = st <= ct and cok <= sok <= ct
            # Codes the server sends and the client cannot make up itself must agree exactly.
            for code in set(c) | set(s):
                if code in ("OK", "CANCELLED", "DEADLINE_EXCEEDED", "UNAVAILABLE"):
                    continue
                if c.get(code, 0) != s.get(code, 0):
                    ok = False
            if s.get("UNAVAILABLE", 0) > c.get("UNAVAILABLE", 0):
                ok = False
            lines.append(f"bounded {model}/{method}: client {ct} calls ({cok} OK), server counted "
                         f"{st:g} ({sok:g} OK, {s.get('CANCELLED', 0):g} CANCELLED, "
                         f"{s.get('DEADLINE_EXCEEDED', 0):g} DEADLINE_EXCEEDED); "
                         f"{ct - st:g} never counted by the server")
            if not ok:
                failures.append(f"bounds violated for {model}/{method}: client {c} server {s}")
    if utf8:
        lines.append(f"invalid UTF-8: {sum(utf8.values())} calls, codes {utf8}")
        if set(utf8) != {"INVALID_ARGUMENT"}:
            failures.append(f"invalid-UTF-8 calls not all INVALID_ARGUMENT: {utf8}")
    elif expect_utf8 == "1":
        failures.append("no invalid-UTF-8 call was made (SOAK_INVALID_UTF8=1)")
    print("\n".join("  " + l for l in lines))
    for f in failures:
        print("  FAIL " + f)
    return 1 if failures else 0

def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + e], dtype="<f4").reshape(t["shape"])
    return out

def cmd_golden(py_dir, port, data):
    sys.path.insert(0, py_dir)
    import grpc
    from attnserve.v1 import attnserve_pb2 as pb, attnserve_pb2_grpc as pbg
    stub = pbg.InferenceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    cases = json.load(open(f"{data}/bert-tiny/cases.json"))["cases"]
    tensors = read_safetensors(f"{data}/bert-tiny/tensors.safetensors")
    worst, n_enc = 0.0, 0
    for c in cases:
        r = stub.Encode(pb.EncodeRequest(model="enc", texts=c["texts"], truncate=True), timeout=60)
        got = np.array([list(e.values) for e in r.embeddings], dtype=np.float32)
        want = tensors[c["name"] + ".mean_pooled_normalized"]
        worst = max(worst, float(np.max(np.abs(got - want))))
        n_enc += len(c["texts"])
    cases = json.load(open(f"{data}/marian-tiny/cases.json"))["cases"]
    wrong, n_tr = [], 0
    for c in cases:
        r = stub.Translate(pb.TranslateRequest(model="tr", texts=c["texts"], beam_size=1,
                                               max_new_tokens=16), timeout=120)
        for b, seq in enumerate(c["greedy"]["sequences"]):
            want = []
            for t in seq[1:]:
                want.append(t)
                if t == 0:
                    break
            n_tr += 1
            if list(r.translations[b].hypotheses[0].token_ids) != want:
                wrong.append(f'{c["name"]}[{b}]')
    ok = worst <= 1e-5 and not wrong
    print(f"  golden Encode: {n_enc} texts, max |diff| {worst:.2e} (bound 1e-5); "
          f"greedy Translate: {n_tr} texts, {len(wrong)} with other ids {wrong[:5]}")
    return 0 if ok else 1

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "scrape":
        sys.exit(cmd_scrape(int(sys.argv[2]), sys.argv[3]))
    if cmd == "compare":
        sys.exit(cmd_compare(*sys.argv[2:8]))
    if cmd == "golden":
        sys.exit(cmd_golden(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    sys.exit(f"unknown command {cmd}")
PYEOF

# --- server -------------------------------------------------------------------------------
cat > "$WORK/models.txtpb" <<CFG
model { name: "enc" path: "$DATA/bert-tiny" }
model { name: "enc-faults" path: "$DATA/bert-tiny" }
model { name: "tr" path: "$DATA/marian-tiny" }
model { name: "tr-faults" path: "$DATA/marian-tiny" }
CFG
OMP_NUM_THREADS=1 "$BIN/attnserve-server" --config="$WORK/models.txtpb" --host=127.0.0.1 --port=0 \
  --metrics_address=127.0.0.1 --metrics_port=0 --threads=1 > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT="" METRICS_PORT=""
for _ in $(seq 600); do
  PORT=$(sed -n 's/.*gRPC listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log" | head -1)
  METRICS_PORT=$(sed -n 's|.*metrics on http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' "$WORK/server.log" | head -1)
  grep -q "SERVING with" "$WORK/server.log" && [[ -n $PORT && -n $METRICS_PORT ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; die "server exited at start-up"; }
  sleep 0.1
done
grep -q "^.*I attnserve: SERVING with" "$WORK/server.log" || { cat "$WORK/server.log"; die "server not SERVING"; }
TARGET=127.0.0.1:$PORT
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }

LOADGEN=("$BIN/attnserve-loadgen" --target="$TARGET" --concurrency="$CONCURRENCY"
  --mix=encode=0.5,translate=0.25,stream=0.25 --texts_per_request=2 --max_new_tokens=16
  --encode_model=enc --translate_model=tr --fault_encode_model=enc-faults
  --fault_translate_model=tr-faults --cancel_fraction=0.06 --short_deadline_fraction=0.06
  --oversized_fraction=0.05 --malformed_fraction=0.06 --slow_reader_fraction=0.04
  --disconnect_fraction=0.04)
if [[ $INVALID_UTF8 != 1 ]]; then
  LOADGEN+=(--malformed_invalid_utf8=false)
fi

echo "soak: server pid $SERVER_PID on $TARGET (metrics :$METRICS_PORT); warm-up ${WARMUP}s"
"${LOADGEN[@]}" --duration="${WARMUP}s" --seed=7 --json_out="$WORK/warmup.json" > "$WORK/warmup.txt" \
  || { cat "$WORK/warmup.txt"; die "warm-up loadgen failed"; }
"$PY" "$WORK/soak_check.py" scrape "$METRICS_PORT" "$WORK/before.json" || die "calls still in flight after warm-up"
RSS_WARM=$(rss_kib)

echo "soak: RSS after warm-up $((RSS_WARM / 1024)) MiB; load for ${DURATION}s (concurrency $CONCURRENCY)"
( while sleep 10; do rss_kib >> "$WORK/rss.txt" || break; done ) &
SAMPLER_PID=$!
"${LOADGEN[@]}" --duration="${DURATION}s" --seed=11 --json_out="$WORK/soak.json" > "$WORK/soak.txt"
LOADGEN_RC=$?
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""

FAILED=()
check() {  # check NAME COMMAND...: runs COMMAND, records NAME as failed when it fails
  local name=$1; shift
  if "$@"; then echo "PASS $name"; else echo "FAIL $name"; FAILED+=("$name"); fi
}

echo; echo "=== soak summary (${DURATION}s, $TARGET) ==="
cat "$WORK/soak.txt"
[[ $LOADGEN_RC -eq 0 ]] || { echo "FAIL loadgen exited $LOADGEN_RC"; FAILED+=(loadgen); }
check "server alive after the load" kill -0 "$SERVER_PID"
check "no call in flight at the end" "$PY" "$WORK/soak_check.py" scrape "$METRICS_PORT" "$WORK/after.json"
UNEXPECTED=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["unexpected"])' "$WORK/soak.json" 2>/dev/null || echo "?")
check "every call answered with a proper code (unexpected: $UNEXPECTED)" test "$UNEXPECTED" = 0
echo "server counters vs client counts (attnserve_requests_total increase during the soak):"
check "counters agree" "$PY" "$WORK/soak_check.py" compare "$WORK/before.json" "$WORK/after.json" \
  "$WORK/soak.json" enc,tr enc-faults,tr-faults "$INVALID_UTF8"
RSS_AFTER=$(rss_kib)
RSS_MAX=$(sort -n "$WORK/rss.txt" 2>/dev/null | tail -1); RSS_MAX=${RSS_MAX:-$RSS_AFTER}
GROWTH=$((RSS_AFTER - RSS_WARM))
PCT=$(awk -v g="$GROWTH" -v w="$RSS_WARM" 'BEGIN { printf "%.1f", 100 * g / w }')
echo "RSS: after warm-up $((RSS_WARM / 1024)) MiB ($RSS_WARM KiB), after the soak $((RSS_AFTER / 1024)) MiB" \
  "($RSS_AFTER KiB), peak sample $((RSS_MAX / 1024)) MiB; growth $((GROWTH / 1024)) MiB = $PCT %" \
  "(bound: <= $RSS_BOUND_MIB MiB or <= $RSS_BOUND_PCT %)"
check "RSS growth within bound" awk -v g="$GROWTH" -v w="$RSS_WARM" -v m="$RSS_BOUND_MIB" -v p="$RSS_BOUND_PCT" \
  'BEGIN { exit !(g <= m * 1024 || 100 * g <= p * w) }'
check "golden results after the soak" "$PY" "$WORK/soak_check.py" golden "$WORK/py" "$PORT" "$DATA"
kill -TERM "$SERVER_PID"
EXIT_CODE=""
for _ in $(seq 600); do
  kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID"; EXIT_CODE=$?; break; }
  sleep 0.1
done
check "SIGTERM drains and exits 0 (exit code ${EXIT_CODE:-none after 60 s})" test "${EXIT_CODE:-x}" = 0
SERVER_PID=""
if grep -q "libprotobuf ERROR" "$WORK/server.log"; then
  echo "note: the server log has $(grep -c 'libprotobuf ERROR' "$WORK/server.log") libprotobuf ERROR lines"
fi
if ((${#FAILED[@]})); then
  echo "SOAK FAILED: ${FAILED[*]}"; exit 1
fi
echo "SOAK PASSED"
