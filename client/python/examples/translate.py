#!/usr/bin/env python3
"""(pip install client/python, or PYTHONPATH=client/python after generate_stubs.sh.)
Translates texts, streaming greedy output as it is decoded (--stream) or with n-best beams.

    python3 examples/translate.py --model en-de --stream "The quick brown fox."
    python3 examples/translate.py --model en-de --beam 4 --nbest 2 "Hello world."
"""
import argparse
import sys

from attnserve_client import AttnserveError, Client


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", default="127.0.0.1:50051")
    p.add_argument("--model", default="")
    p.add_argument("--beam", type=int, default=0)
    p.add_argument("--nbest", type=int, default=0)
    p.add_argument("--stream", action="store_true")
    p.add_argument("texts", nargs="+")
    a = p.parse_args()
    try:
        with Client(a.target) as c:
            print("server:", c.health())
            if a.stream:
                for ev in c.translate_stream(a.texts, model=a.model, beam_size=1):
                    if ev.text_delta:
                        print("[%d] +%r" % (ev.index, ev.text_delta))
                    if ev.finished:
                        print("[%d] = %s (score %.4f)" % (ev.index, ev.translation.text,
                                                           ev.translation.hypotheses[0].score))
                    if ev.usage:
                        print("usage:", ev.usage)
            else:
                for i, t in enumerate(c.translate(a.texts, model=a.model, beam_size=a.beam,
                                                  num_hypotheses=a.nbest)):
                    for k, h in enumerate(t.hypotheses):
                        print("[%d.%d] %s (score %.4f)" % (i, k, h.text, h.score))
    except AttnserveError as e:
        print("error:", e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
