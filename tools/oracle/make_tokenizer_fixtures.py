#!/usr/bin/env python3
"""Writes tests/data/tokenizers/<family>/: a tiny tokenizer folder of each family
(tiny_tokenizers.py) and cases.json with the ids the Hugging Face FAST tokenizer
(AutoTokenizer.from_pretrained(folder)) gives for multilingual_texts' varied texts.

    python tools/oracle/make_tokenizer_fixtures.py [--out tests/data/tokenizers] [--seed 18]

Needs transformers (4.57.6), tokenizers, sentencepiece and protobuf; torch is not needed.
"""
import argparse
import json
import os
import platform
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multilingual_texts  # noqa: E402
import tiny_tokenizers  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_LENGTH = 24  # small, so that truncation happens in many cases


def versions():
    import sentencepiece
    import tokenizers
    import transformers
    return {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "sentencepiece": sentencepiece.__version__, "python": platform.python_version()}


def cases_for(tok, max_length):
    """One case per text; every third text also gets a pair (PAIRS in turn)."""
    cases = []
    for i, text in enumerate(multilingual_texts.all_texts()):
        ids = tok(text)["input_ids"]
        pair = multilingual_texts.PAIRS[(i // 3) % len(multilingual_texts.PAIRS)] \
            if i % 3 == 0 else None
        case = {"text": text, "tokens": tok.convert_ids_to_tokens(ids), "ids": ids,
                "truncated_ids": tok(text, truncation=True, max_length=max_length)["input_ids"],
                "pair": pair, "pair_ids": None, "pair_truncated_ids": None}
        if pair is not None:
            full = tok(text, pair)
            case["pair_ids"] = full["input_ids"]
            case["pair_truncated_ids"] = tok(text, pair, truncation=True,
                                             max_length=max_length)["input_ids"]
            if "token_type_ids" in full:
                case["pair_token_type_ids"] = full["token_type_ids"]
        cases.append(case)
    return cases


def write_family(family, out, seed):
    from transformers import AutoTokenizer
    folder = os.path.join(out, family)
    shutil.rmtree(folder, ignore_errors=True)
    tiny_tokenizers.build(family, folder, seed=seed)
    tok = AutoTokenizer.from_pretrained(folder)  # what a user's code loads: the fast tokenizer
    assert tok.is_fast, family
    doc = {"family": family, "made_by": versions(), "seed": seed,
           "tokenizer_class": type(tok).__name__, "vocab_size": len(tok),
           "special_ids": {name: tok.convert_tokens_to_ids(t)
                           for name, t in tok.special_tokens_map.items() if isinstance(t, str)},
           "max_length": MAX_LENGTH, "cases": cases_for(tok, MAX_LENGTH)}
    with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    truncated = sum(len(c["ids"]) > MAX_LENGTH for c in doc["cases"])
    unk = sum(tok.unk_token_id in c["ids"] for c in doc["cases"])
    print("%-18s %5d tokens, %d cases (%d over max_length %d, %d with unk) -> %s" % (
        family, len(tok), len(doc["cases"]), truncated, MAX_LENGTH, unk, folder))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "tokenizers"))
    p.add_argument("--seed", type=int, default=18)
    p.add_argument("--families", default=",".join(tiny_tokenizers.FAMILIES))
    args = p.parse_args()
    for family in args.families.split(","):
        write_family(family, args.out, args.seed)


if __name__ == "__main__":
    main()
