#!/usr/bin/env bash
# End-to-end check of the container image and the compose stack (deploy/docker-compose.yml).
#
#   tools/compose-e2e.sh        (as root; about 20 s warm, 15-30 min when the image compiles)
#
# What it does, each step bounded in time, host ports on 127.0.0.1 only:
#  1. Docker engine: installs it from Debian when missing (docker.io containerd runc iptables
#     debootstrap docker-compose), starts dockerd by hand when none is running and stops that
#     dockerd again on exit (an engine that was already running is left alone).
#  2. Base image: tools/make-base-image.sh (debian:bookworm-slim from the machine's own mirror
#     when it cannot be pulled).
#  3. Builds attnserve, attnserve-nginx and attnserve-prometheus with the compose file; MIRROR
#     (the machine's Debian mirror) and EXTRA_CA_CERTS (locally added CAs) are build args.
#  4. For each compose implementation found (v1 `docker-compose`, v2 `docker compose`): brings
#     up attnserve-1, attnserve-2, nginx and prometheus (not grafana: its image cannot be pulled
#     here), waits for health, checks hardening (read-only root, non-root user), sends real
#     Encode ("minilm") and Translate ("en-de-numbers") calls through nginx with the project's
#     client, checks both replicas served calls (their /metrics, read with docker exec) and
#     answered the same, checks Prometheus sees both targets up, runs every PromQL query of
#     deploy/grafana/dashboards/attnserve.json and checks each returns data, then stops the stack
#     and checks every container exited 0 within its grace period (graceful SIGTERM drain).
#  5. Prints a summary; the exit status is non-zero when any check failed.
#
# When models/demo-en-de-numbers has no trained weights yet, the replicas get an Encode-only
# model config (a compose override) and the Translate checks and output-token query are skipped,
# saying so. The client is $ATTNSERVE_CLIENT, else $BUILD_DIR/bin/attnserve-client (BUILD_DIR
# defaults to build), else the image's own attnserve-client run with the host network.
# Environment: E2E_COMPOSE=v1|v2|all (default all found), E2E_GRPC_PORT (15051),
# E2E_PROMETHEUS_PORT (19091), E2E_LOG_DIR (logs; default a new /tmp dir), E2E_CALLS (12 rounds
# of calls), E2E_NO_BUILD=1 (test the images already built), E2E_KEEP_ENGINE=1 (leave a dockerd
# this script started running).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

project=attnserve-e2e
compose_file=deploy/docker-compose.yml
grpc_port=${E2E_GRPC_PORT:-15051}
prom_port=${E2E_PROMETHEUS_PORT:-19091}
logdir=${E2E_LOG_DIR:-$(mktemp -d /tmp/attnserve-e2e.XXXXXX)}
mkdir -p "$logdir"
services=(attnserve-1 attnserve-2 nginx prometheus)
started_dockerd_pid=""
stack_up=""       # the compose command whose stack is up, for the exit trap
failures=()
summary=()
t_start=$SECONDS

log() { printf '[%4ds] %s\n' $((SECONDS - t_start)) "$*"; }
pass() { summary+=("PASS  $*"); log "PASS $*"; }
fail() { failures+=("$*"); summary+=("FAIL  $*"); log "FAIL $*"; }
note() { summary+=("NOTE  $*"); log "NOTE $*"; }
die() { fail "$*"; exit 1; }

# Runs "$@" until it succeeds or $1 seconds pass; returns its last status.
retry_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 2
  done
}

# ---------------------------------------------------------------------------------------------
# Teardown: the stack (if still up), then the engine if this script started it.
cleanup() {
  local status=$?
  set +e
  if [ -n "$stack_up" ]; then
    log "cleanup: taking the stack down"
    timeout 120 $stack_up down -v --remove-orphans >>"$logdir/compose.log" 2>&1
  fi
  if [ -n "$started_dockerd_pid" ] && [ -z "${E2E_KEEP_ENGINE:-}" ]; then
    log "cleanup: stopping the dockerd this script started (pid $started_dockerd_pid)"
    kill -TERM "$started_dockerd_pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$started_dockerd_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$started_dockerd_pid" 2>/dev/null
  fi
  if [ "$status" -ne 0 ] && [ ${#failures[@]} -eq 0 ]; then
    failures+=("aborted"); summary+=("FAIL  aborted with status $status (see the log above)")
  fi
  print_summary
  [ ${#failures[@]} -eq 0 ] || status=1
  exit $status
}

print_summary() {
  echo
  echo "==================== compose-e2e summary ($((SECONDS - t_start)) s, logs in $logdir)"
  local line
  for line in "${summary[@]}"; do echo "  $line"; done
  if [ ${#failures[@]} -eq 0 ]; then
    echo "RESULT: all checks passed"
  else
    echo "RESULT: ${#failures[@]} check(s) FAILED"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timed() {  # timed LABEL CMD...: runs CMD, records its duration
  local label=$1; shift
  local t0=$SECONDS
  "$@"
  summary+=("TIME  $label: $((SECONDS - t0)) s")
}

# ---------------------------------------------------------------------------------------------
# 1. Engine
ensure_engine() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io containerd runc iptables)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "engine: missing ${missing[*]}; run as root to install them"
    log "engine: apt-get install ${missing[*]}"
    timeout 300 apt-get update -q >"$logdir/apt.log" 2>&1 || die "engine: apt-get update failed ($logdir/apt.log)"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >>"$logdir/apt.log" 2>&1 || die "engine: apt-get install failed ($logdir/apt.log)"
  fi
  if timeout 20 docker info >/dev/null 2>&1; then
    log "engine: using the running Docker engine"
    return
  fi
  # apt does not start it here, and /etc/init.d/docker fails (its ulimit is above the hard limit).
  log "engine: starting dockerd (log $logdir/dockerd.log)"
  dockerd >"$logdir/dockerd.log" 2>&1 &
  started_dockerd_pid=$!
  retry_for 60 timeout 10 docker info >/dev/null 2>&1 ||
    die "engine: dockerd did not become ready in 60 s ($logdir/dockerd.log)"
  log "engine: dockerd ready (pid $started_dockerd_pid)"
}

# ---------------------------------------------------------------------------------------------
# 3. Images
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
extra_ca=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)

build_images() {
  local compose=$1
  log "build: images with $compose (log $logdir/build.log; the first build compiles attnserve)"
  if ! MIRROR=$mirror EXTRA_CA_CERTS=$extra_ca timeout 3600 \
      $compose build attnserve-1 nginx prometheus >"$logdir/build.log" 2>&1; then
    tail -40 "$logdir/build.log"
    die "build: compose build failed ($logdir/build.log)"
  fi
  local image size
  for image in attnserve attnserve-nginx attnserve-prometheus debian:bookworm-slim; do
    [[ $image == *:* ]] || image=$image:latest
    size=$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')
    summary+=("SIZE  $image: $size")
  done
  # No host name of the build machine's mirror in the runtime image's files.
  local host=${mirror#*://}; host=${host%%/*}
  if [ -n "$host" ] && docker run --rm --entrypoint bash attnserve:latest -c \
      "grep -rlsF '$host' /etc /var/lib/apt /var/log /opt 2>/dev/null | head -5" | grep -q .; then
    fail "image: files in attnserve:latest name the build mirror"
  else
    pass "image: no file of attnserve:latest names the build mirror"
  fi
}

# ---------------------------------------------------------------------------------------------
# Model readiness: the demo translator is trained by tools/demo_translator/train.py.
translator_ready() {
  [ -s models/demo-en-de-numbers/config.json ] && [ -s models/demo-en-de-numbers/model.safetensors ]
}

write_encode_only_override() {
  cat >"$logdir/models-encode-only.textproto" <<'EOF'
# compose-e2e: the demo translator has no weights yet; serve the encoder only.
model {
  name: "minilm"
  path: "/opt/attnserve/models/all-MiniLM-L6-v2"
  batching { max_batch_size: 32 max_batch_tokens: 8192 max_queue_delay_us: 2000 max_queue_size: 1024 }
}
EOF
  cat >"$logdir/override.yml" <<EOF
services:
  attnserve-1:
    volumes: ["$logdir/models-encode-only.textproto:/etc/attnserve/models.textproto:ro"]
  attnserve-2:
    volumes: ["$logdir/models-encode-only.textproto:/etc/attnserve/models.textproto:ro"]
EOF
}

# ---------------------------------------------------------------------------------------------
# Client: the project's build, else the image's client on the host network (both use 127.0.0.1).
client_cmd=()
pick_client() {
  local built=${ATTNSERVE_CLIENT:-${BUILD_DIR:-build}/bin/attnserve-client}
  if [ -x "$built" ]; then
    client_cmd=("$built")
    note "client: $built"
  else
    client_cmd=(docker run --rm --network host --entrypoint attnserve-client attnserve:latest)
    note "client: attnserve-client of the image (no usable $built)"
  fi
}
client() { timeout 60 "${client_cmd[@]}" --target="127.0.0.1:$grpc_port" --deadline=30s "$@"; }

# ---------------------------------------------------------------------------------------------
# Stack helpers
cid() { $compose ps -q "$1" 2>/dev/null; }
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$(cid "$1")" 2>/dev/null; }
all_healthy() {
  local s
  for s in attnserve-1 attnserve-2 prometheus; do [ "$(health "$s")" = healthy ] || return 1; done
  [ "$(health nginx)" = running ]
}

# The replica's own /metrics, read inside its container (the image has bash, not curl).
replica_metrics() {
  timeout 20 docker exec "$(cid "$1")" bash -c \
    'exec 3<>/dev/tcp/127.0.0.1/9090 && printf "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && cat <&3'
}
# Calls a replica finished with status OK: the sum of its attnserve_requests_total{code="OK"}.
replica_requests() {
  local text
  text=$(replica_metrics "$1") || { echo 0; return; }
  awk '/^attnserve_requests_total\{/ && /code="OK"/ {s += $NF} END {printf "%d\n", s}' <<<"$text"
}
show_logs() {
  local s c
  for s in "$@"; do
    c=$(cid "$s")
    [ -n "$c" ] || { log "  $s: no container"; continue; }
    docker logs --tail 20 "$c" 2>&1 | sed "s/^/  $s: /" || true
  done
}

prom_get() {  # prom_get PATH [curl args...]: JSON from the stack's Prometheus
  local path=$1; shift
  curl -sS --max-time 10 "$@" "http://127.0.0.1:$prom_port$path"
}

# ---------------------------------------------------------------------------------------------
# Traffic
encode_texts=("The quick brown fox jumps over the lazy dog." "attnserve serves sentence embeddings.")
translate_numbers=(7 21 105 321 1001 45678)

# One Encode call; prints "norms|first values" so calls can be compared across replicas.
encode_once() {
  client --json --model=minilm encode "${encode_texts[@]}" | python3 -c '
import json, math, sys
r = json.load(sys.stdin)
assert r["model"] == "minilm", r["model"]
assert r["dimensions"] == 384, r["dimensions"]
out = []
for e in r["embeddings"]:
    v = e["values"]
    assert len(v) == 384, len(v)
    n = math.sqrt(sum(x * x for x in v))
    assert abs(n - 1) < 1e-3, "embedding not unit length: %g" % n
    out.append(" ".join("%.5f" % x for x in v[:8]))
assert len(out) == 2, len(out)
print("|".join(out))'
}

translate_once() {
  local texts=() n
  for n in "${translate_numbers[@]}"; do
    texts+=("$(python3 -c 'import sys; sys.path.insert(0, "tools/demo_translator"); import number_words as w; print(w.english(int(sys.argv[1])))' "$n")")
  done
  client --json --model=en-de-numbers translate "${texts[@]}" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["model"] == "en-de-numbers", r["model"]
t = [x["hypotheses"][0]["text"] for x in r["translations"]]
assert len(t) == int(sys.argv[1]) and all(t), t
print("|".join(t))' "${#translate_numbers[@]}"
}

send_traffic() {
  local calls=$1 i out first_enc="" first_tr="" bad=0
  for ((i = 0; i < calls; i++)); do
    if ! out=$(encode_once 2>>"$logdir/client.log"); then bad=$((bad + 1)); continue; fi
    [ -n "$first_enc" ] || first_enc=$out
    [ "$out" = "$first_enc" ] || { echo "encode differs: $out vs $first_enc" >>"$logdir/client.log"; bad=$((bad + 1)); }
    if [ -n "$translate" ]; then
      if ! out=$(translate_once 2>>"$logdir/client.log"); then bad=$((bad + 1)); continue; fi
      [ -n "$first_tr" ] || first_tr=$out
      [ "$out" = "$first_tr" ] || { echo "translate differs: $out vs $first_tr" >>"$logdir/client.log"; bad=$((bad + 1)); }
    fi
  done
  echo "$first_tr" >"$logdir/translations.txt"
  return $bad
}

# Background load while Prometheus evaluates the dashboard's rate() queries.
background_traffic() {
  while :; do
    encode_once >/dev/null 2>&1 || true
    [ -z "$translate" ] || translate_once >/dev/null 2>&1 || true
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------------------------
# 4. One full cycle with one compose implementation
run_cycle() {
  local label=$1
  compose="$2 -p $project -f $compose_file"
  [ -n "$translate" ] || compose="$compose -f $logdir/override.yml"
  log "== cycle $label: $compose"

  local t0=$SECONDS
  stack_up=$compose
  if ! ATTNSERVE_GRPC_PORT=$grpc_port ATTNSERVE_PROMETHEUS_PORT=$prom_port timeout 300 \
      $compose up -d "${services[@]}" >>"$logdir/compose.log" 2>&1; then
    tail -20 "$logdir/compose.log"
    show_logs attnserve-1 attnserve-2
    fail "$label: compose up failed ($logdir/compose.log)"
    return
  fi
  if retry_for 180 all_healthy; then
    pass "$label: stack healthy in $((SECONDS - t0)) s (attnserve-1/2 and prometheus healthy, nginx running)"
  else
    for s in "${services[@]}"; do log "  $s: $(health $s || true)"; done
    show_logs attnserve-1 attnserve-2
    fail "$label: stack not healthy within 180 s"
    return
  fi

  # Hardening of the replicas.
  local c ro uid
  for s in attnserve-1 attnserve-2; do
    c=$(cid $s)
    ro=$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$c")
    uid=$(timeout 10 docker exec "$c" id -u) || uid="?"
    if [ "$ro" = true ] && [ "$uid" != 0 ]; then
      pass "$label: $s runs as uid $uid on a read-only root filesystem"
    else
      fail "$label: $s read_only=$ro uid=$uid"
    fi
  done

  # Real calls through nginx on 127.0.0.1; nginx balances each call over the replicas.
  local before1 before2 calls=${E2E_CALLS:-12} t_traffic=$SECONDS
  before1=$(replica_requests attnserve-1)
  before2=$(replica_requests attnserve-2)
  local bad=0
  send_traffic "$calls" || bad=$?
  local per_call=1; [ -z "$translate" ] || per_call=2
  if [ "$bad" -eq 0 ]; then
    pass "$label: $((calls * per_call)) calls through nginx ok in $((SECONDS - t_traffic)) s (Encode: 384-dim unit vectors, identical on every call$([ -z "$translate" ] || echo "; Translate: identical on every call"))"
  else
    fail "$label: $bad of $((calls * per_call)) calls failed or differed ($logdir/client.log)"
  fi
  if [ -n "$translate" ]; then
    report_translations "$label"
  fi
  local after1 after2
  after1=$(replica_requests attnserve-1)
  after2=$(replica_requests attnserve-2)
  local d1=$((after1 - before1)) d2=$((after2 - before2))
  if [ "$d1" -gt 0 ] && [ "$d2" -gt 0 ] && [ $((d1 + d2)) -ge $((calls * per_call)) ]; then
    pass "$label: both replicas served calls: attnserve-1 $d1, attnserve-2 $d2 (of $((calls * per_call)))"
  else
    fail "$label: calls per replica attnserve-1 $d1, attnserve-2 $d2 (of $((calls * per_call)))"
  fi

  # Keep traffic flowing while Prometheus scrapes, so rate() queries have something to rate.
  background_traffic >/dev/null 2>&1 &
  local bg=$!
  check_prometheus "$label"
  kill "$bg" 2>/dev/null; wait "$bg" 2>/dev/null || true

  stop_stack "$label"
}

report_translations() {
  local got expected
  got=$(cat "$logdir/translations.txt" 2>/dev/null || true)
  [ -n "$got" ] || { fail "$1: no translation to report"; return; }
  expected=$(python3 -c 'import sys; sys.path.insert(0, "tools/demo_translator"); import number_words as w; print("|".join(w.german(int(n)) for n in sys.argv[1:]))' "${translate_numbers[@]}")
  local matches
  matches=$(python3 -c 'import sys; a, b = sys.argv[1].split("|"), sys.argv[2].split("|"); print(sum(x == y for x, y in zip(a, b)))' "$got" "$expected") || matches="?"
  note "$1: demo translator got $matches/${#translate_numbers[@]} numbers exactly right: $got"
}

check_prometheus() {
  local label=$1
  # Both targets up.
  targets_up() {
    prom_get /api/v1/targets | python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
up = sorted(x["labels"]["instance"] for x in t if x["health"] == "up" and x["labels"]["job"] == "attnserve")
sys.exit(0 if up == ["attnserve-1:9090", "attnserve-2:9090"] else 1)'
  }
  if retry_for 60 targets_up; then
    pass "$label: Prometheus targets attnserve-1:9090 and attnserve-2:9090 up"
  else
    fail "$label: Prometheus targets not both up: $(prom_get /api/v1/targets | head -c 600)"
  fi

  # Prometheus's own view of calls per replica.
  local per_instance
  per_instance=$(prom_get /api/v1/query --data-urlencode 'query=sum by (instance) (attnserve_requests_total)' | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(", ".join("%s %d" % (x["metric"]["instance"], float(x["value"][1])) for x in sorted(r, key=lambda x: x["metric"]["instance"])))') ||
    per_instance=""
  if [[ $per_instance == *attnserve-1:9090* && $per_instance == *attnserve-2:9090* ]]; then
    pass "$label: Prometheus attnserve_requests_total by instance: $per_instance"
  else
    fail "$label: Prometheus attnserve_requests_total by instance: '$per_instance'"
  fi

  # Every query of the Grafana dashboard returns data (a finite value), as Grafana would show.
  local exprs
  exprs=$(python3 -c '
import json, sys
def walk(panels):
    for p in panels:
        walk(p.get("panels", []))
        for t in p.get("targets", []):
            if t.get("expr"):
                print(p.get("title", "?") + "\t" + " ".join(t["expr"].split()))
walk(json.load(open(sys.argv[1]))["panels"])' deploy/grafana/dashboards/attnserve.json)
  local n=0 ok=0 title expr
  while IFS=$'\t' read -r title expr; do
    [ -n "$expr" ] || continue
    n=$((n + 1))
    if [ -z "$translate" ] && [[ $expr == *attnserve_output_tokens_total* ]]; then
      note "$label: PromQL '$title' skipped (no Translate traffic without the demo translator): $expr"
      continue
    fi
    local result=""
    query_has_data() {
      result=$(prom_get /api/v1/query --data-urlencode "query=$expr" | python3 -c '
import json, math, sys
r = json.load(sys.stdin)
assert r["status"] == "success", r
vals = [(x["metric"], float(x["value"][1])) for x in r["data"]["result"]]
finite = [v for v in vals if math.isfinite(v[1])]
if not finite: sys.exit(1)
print("%d series, e.g. %s = %.4g" % (len(vals), json.dumps(finite[0][0], sort_keys=True), finite[0][1]))')
    }
    if retry_for 90 query_has_data; then
      ok=$((ok + 1))
      pass "$label: PromQL '$title' -> $result"
    else
      fail "$label: PromQL '$title' returned no data: $expr"
    fi
  done <<<"$exprs"
  [ "$n" -gt 0 ] || fail "$label: no PromQL queries found in the dashboard"
  summary+=("INFO  $label: $ok of $n dashboard queries returned data")
}

stop_stack() {
  local label=$1 s c code t0=$SECONDS
  local ids=()
  for s in "${services[@]}"; do ids+=("$s=$(cid "$s")"); done
  if ! timeout 150 $compose stop >>"$logdir/compose.log" 2>&1; then
    fail "$label: compose stop timed out"
  fi
  local took=$((SECONDS - t0))
  for s in "${ids[@]}"; do
    c=${s#*=}
    code=$(docker inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' "$c" 2>/dev/null || echo "? ?")
    if [ "${code% *}" = 0 ]; then
      pass "$label: ${s%%=*} exited 0 on its stop signal (SIGTERM; SIGQUIT for nginx)"
    else
      fail "$label: ${s%%=*} exit code/OOM: $code (137 = killed after the grace period)"
      docker logs --tail 15 "$c" 2>&1 | sed "s/^/    /" || true
    fi
  done
  summary+=("TIME  $label: compose stop (graceful) $took s")
  timeout 120 $compose down -v --remove-orphans >>"$logdir/compose.log" 2>&1 || fail "$label: compose down failed"
  stack_up=""
}

# Grafana cannot run here: check statically that its provisioning fits the stack and dashboard
# (datasource uid used by every panel, datasource URL = the compose Prometheus, dashboard path =
# the compose mount).
check_grafana_provisioning() {
  local out
  if out=$(/usr/bin/python3 - "$compose_file" <<'PY' 2>&1
import json, sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))
ds = yaml.safe_load(open("deploy/grafana/provisioning/datasources/prometheus.yml"))["datasources"]
prov = yaml.safe_load(open("deploy/grafana/provisioning/dashboards/attnserve.yml"))["providers"]
dash = json.load(open("deploy/grafana/dashboards/attnserve.json"))
uids = {d["uid"]: d for d in ds}
used = set()
def walk(panels):
    for p in panels:
        walk(p.get("panels", []))
        for x in [p] + p.get("targets", []):
            if isinstance(x.get("datasource"), dict):
                used.add(x["datasource"]["uid"])
walk(dash["panels"])
missing = used - set(uids)
assert not missing, "dashboard datasource uid(s) %s not provisioned" % sorted(missing)
for uid in used:
    url = uids[uid]["url"]
    assert url == "http://prometheus:9090", "datasource %s url %s is not the compose Prometheus" % (uid, url)
mounts = [v.split(":")[1] for v in compose["services"]["grafana"]["volumes"]]
for p in prov:
    assert p["options"]["path"] in mounts, "provider path %s is not mounted" % p["options"]["path"]
print("datasource uid(s) %s -> http://prometheus:9090, dashboards from %s" % (sorted(used), prov[0]["options"]["path"]))
PY
  ); then
    pass "grafana provisioning: $out"
  else
    fail "grafana provisioning: $out"
  fi
}

# ---------------------------------------------------------------------------------------------
main() {
  check_grafana_provisioning
  timed "engine" ensure_engine
  timed "base image" tools/make-base-image.sh

  local impls=()
  case ${E2E_COMPOSE:-all} in
    v1) impls=(v1) ;;
    v2) impls=(v2) ;;
    all) impls=(v1); timeout 20 docker compose version >/dev/null 2>&1 && impls+=(v2) ;;
    *) die "E2E_COMPOSE must be v1, v2 or all" ;;
  esac
  [ ${#impls[@]} -eq 2 ] || [ "${E2E_COMPOSE:-all}" != all ] ||
    note "compose v2 plugin not installed: only docker-compose v1 tested"

  translate=yes
  if ! translator_ready; then
    translate=""
    write_encode_only_override
    note "models/demo-en-de-numbers has no trained weights yet: Encode only (Translate skipped)"
  fi

  local first_cmd="docker-compose"; [ "${impls[0]}" = v1 ] || first_cmd="docker compose"
  compose="$first_cmd -p $project -f $compose_file"
  if [ -n "${E2E_NO_BUILD:-}" ]; then
    note "E2E_NO_BUILD: testing the existing images"
  else
    timed "image builds" build_images "$compose"
  fi
  pick_client

  local impl
  for impl in "${impls[@]}"; do
    if [ "$impl" = v1 ]; then
      timed "cycle v1 (up, traffic, checks, down)" run_cycle "compose v1" docker-compose
    else
      timed "cycle v2 (up, traffic, checks, down)" run_cycle "compose v2" "docker compose"
    fi
  done
}

main
