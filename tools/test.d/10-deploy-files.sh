#!/usr/bin/env bash
# Offline validation of the deployment files: Dockerfiles (hadolint), the compose file
# (docker-compose config), the Prometheus config (promtool) and the Kubernetes manifests
# (kustomize render + kubernetes-models schema validation).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv=.venv

for f in Dockerfile deploy/nginx/Dockerfile deploy/prometheus/Dockerfile; do
  "$venv/bin/hadolint" --config .hadolint.yaml "$f"
done
echo "hadolint: Dockerfiles clean"

docker-compose -f deploy/docker-compose.yml config -q
echo "compose: deploy/docker-compose.yml valid"
promtool check config deploy/prometheus/prometheus.yml

render() {
  if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize deploy/k8s
  else  # kustomize's resource list, rendered without kubectl (no patches are used)
    "$venv/bin/python" - <<'PY'
import re
names = re.findall(r"^\s*-\s*(\S+\.yaml)\s*$", open("deploy/k8s/kustomization.yaml").read(), re.M)
print("\n---\n".join(open("deploy/k8s/" + n).read() for n in names))
PY
  fi
}
(cd tools/k8s-validate && npm ci --no-audit --no-fund --silent >/dev/null)
render | node tools/k8s-validate/validate.mjs
sed -n '/^apiVersion/,$p' deploy/k8s/hpa-queue-depth.yaml.example | node tools/k8s-validate/validate.mjs
