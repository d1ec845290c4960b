#!/usr/bin/env python3
"""(pip install client/python, or PYTHONPATH=client/python after generate_stubs.sh.)
Embeds sentences and prints their cosine similarities.

    python3 examples/encode.py --target 127.0.0.1:50051 --model minilm "A cat." "A dog."
"""
import argparse

import numpy as np

from attnserve_client import Client


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", default="127.0.0.1:50051")
    p.add_argument("--model", default="")
    p.add_argument("--token")
    p.add_argument("texts", nargs="+")
    a = p.parse_args()
    with Client(a.target, token=a.token) as c:
        vectors = c.encode(a.texts, model=a.model, normalize=True)
    for i, (t, v) in enumerate(zip(a.texts, vectors)):
        print("[%d] dims=%d first=%s  %r" % (i, v.size, np.round(v[:4], 4), t))
    sims = np.stack(vectors) @ np.stack(vectors).T
    print("cosine similarities:\n", np.round(sims, 4))


if __name__ == "__main__":
    main()
