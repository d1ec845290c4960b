#!/usr/bin/env bash
# Creates (or completes) bench/peers/.venv-peers: the peer engines the peers
# benchmark compares attnserve with (PyTorch + Hugging Face transformers, ONNX
# Runtime with its transformer optimizer and dynamic quantization, CTranslate2;
# sentence-transformers for the rerank case's CrossEncoder).
# Idempotent: a second run only checks the imports and returns.
#   bench/peers/setup-venv.sh                 create/complete the venv
#   PEERS_VENV=DIR bench/peers/setup-venv.sh  use another location
# Packages come from the registry pip is configured for on this machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="${PEERS_VENV:-$here/.venv-peers}"
python="${PEERS_PYTHON:-/usr/bin/python3}"

# transformers is pinned to the version that made tests/data (4.57.6), as the
# oracle venv, and sentence-transformers to the version that made the
# cross-encoder fixtures (5.1.2); onnxscript is what torch.onnx.export needs in
# torch 2.9+.
pkgs=(torch "transformers==4.57.6" "sentence-transformers==5.1.2" safetensors
  sentencepiece numpy onnx onnxscript onnxruntime ctranslate2 coloredlogs sympy
  packaging psutil)
check='import torch, transformers, onnx, onnxruntime, ctranslate2, safetensors, numpy
import sentence_transformers
assert sentence_transformers.__version__ == "5.1.2", sentence_transformers.__version__
import onnxruntime.transformers.optimizer, onnxruntime.quantization
assert transformers.__version__ == "4.57.6", transformers.__version__'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
  echo "setup-venv: $venv ok" >&2
  exit 0
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "${pkgs[@]}"
"$venv/bin/python" -c "$check"
echo "setup-venv: $venv ready ($("$venv/bin/python" -c 'import torch, transformers, onnxruntime as o, ctranslate2 as c; print("torch", torch.__version__, "transformers", transformers.__version__, "onnxruntime", o.__version__, "ctranslate2", c.__version__)'))" >&2
