# Sourced by bench/run.sh and bench/serving.sh: bench_python prints the Python
# of the bench-only venv (.venv-bench, gitignored), made on first use with
# numpy (bench/make_bert_base.py) and matplotlib (the PNG plots). pip uses the
# machine's configured package index.
bench_python() {
  local root venv
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="$root/.venv-bench"
  if ! "$venv/bin/python" -c "import numpy, matplotlib" 2> /dev/null; then
    echo "bench: making $venv (numpy, matplotlib)" >&2
    python3 -m venv "$venv" >&2 &&
      "$venv/bin/pip" install --quiet numpy matplotlib >&2 || {
      echo "bench: could not install numpy/matplotlib into $venv" >&2
      return 1
    }
  fi
  echo "$venv/bin/python"
}
