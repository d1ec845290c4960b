#!/usr/bin/env python3
"""Writes tests/data/st-modules/<variant>/: one tiny random BERT saved by sentence-transformers
with each module pipeline attnserve reads from modules.json (every Pooling mode, several modes
concatenated, Dense with Tanh / GELU / Identity, Normalize, a Normalize without its folder, the
Transformer in a 0_Transformer subfolder), plus cases.json with SentenceTransformer.encode's
vectors (see tests/data/st-modules/README.md).

    .venv-oracle/bin/python tools/oracle/make_module_fixtures.py [--out tests/data/st-modules]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multilingual_texts as mt  # noqa: E402
import tiny_encoders  # noqa: E402
import tiny_tokenizers  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 1919
HIDDEN = 16
MAX_LEN = 24
BASE = dict(arch="bert", family="wordpiece-bert", hidden=HIDDEN, heads=2, layers=1,
            intermediate=32, max_pos=MAX_LEN, max_seq_length=MAX_LEN)
ALL_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
FLAG = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens",
        "mean": "pooling_mode_mean_tokens", "mean_sqrt_len_tokens":
        "pooling_mode_mean_sqrt_len_tokens", "weightedmean": "pooling_mode_weightedmean_tokens",
        "lasttoken": "pooling_mode_lasttoken"}
# variant -> (pooling modes, modules after Pooling: ("dense", out, bias, activation) or
# "normalize", layout tweak)
VARIANTS = {
    "pool-cls": (["cls"], [], None),
    "pool-max": (["max"], [], None),
    "pool-mean": (["mean"], [], None),
    "pool-mean-sqrt-len": (["mean_sqrt_len_tokens"], [], None),
    "pool-weightedmean": (["weightedmean"], [], None),
    "pool-lasttoken": (["lasttoken"], ["normalize"], None),
    "pool-all-modes": (list(ALL_MODES), ["normalize"], None),
    "dense-tanh": (["mean"], [("dense", 24, True, "Tanh"), "normalize"], None),
    "dense-chain": (["cls", "mean"], [("dense", 20, False, "GELU"),
                                      ("dense", 8, True, "Identity")], None),
    "missing-normalize": (["mean"], ["normalize"], "drop-normalize-folder"),
    "transformer-subfolder": (["max"], ["normalize"], "0_Transformer"),
    # Every module's weights in pytorch_model.bin (safe_serialization=False), the Dense's too.
    "dense-tanh-bin": (["mean"], [("dense", 24, True, "Tanh"), "normalize"], "bin"),
}


def texts():
    return [mt.TEXTS[0], "hello world", "", "a", mt.TEXTS[5], mt.long_text(seed=2)]


def build_modules(base, modes, steps, seed):
    import torch
    from sentence_transformers import models
    modules = [models.Transformer(base, max_seq_length=MAX_LEN),
               models.Pooling(HIDDEN, **{FLAG[m]: m in modes for m in ALL_MODES})]
    width = HIDDEN * len(modes)
    torch.manual_seed(seed)
    for step in steps:
        if step == "normalize":
            modules.append(models.Normalize())
            continue
        _, out, bias, activation = step
        act = torch.nn.Identity() if activation == "Identity" else getattr(torch.nn, activation)()
        dense = models.Dense(width, out, bias=bias, activation_function=act)
        with torch.no_grad():  # weights large enough that the activation bends
            dense.linear.weight.normal_(0, 0.5)
            if bias:
                dense.linear.bias.normal_(0, 0.3)
        modules.append(dense)
        width = out
    return modules


def move_transformer(folder):
    """The layout of older sentence-transformers packages: the Transformer module's files in
    0_Transformer/, found through modules.json's path."""
    sub = os.path.join(folder, "0_Transformer")
    os.makedirs(sub)
    for name in os.listdir(folder):
        if os.path.isfile(os.path.join(folder, name)) and name not in (
                "modules.json", "config_sentence_transformers.json"):
            shutil.move(os.path.join(folder, name), os.path.join(sub, name))
    path = os.path.join(folder, "modules.json")
    with open(path, encoding="utf-8") as f:
        modules = json.load(f)
    modules[0]["path"] = "0_Transformer"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(modules, f, indent=2)


def write_variant(name, base, out, seed):
    import torch
    from sentence_transformers import SentenceTransformer, models
    modes, steps, layout = VARIANTS[name]
    folder = os.path.join(out, name)
    shutil.rmtree(folder, ignore_errors=True)
    SentenceTransformer(modules=build_modules(base, modes, steps, seed), device="cpu").save(
        folder, safe_serialization=layout != "bin")
    card = os.path.join(folder, "README.md")  # a generated model card; not needed
    if os.path.exists(card):
        os.unlink(card)
    if layout == "drop-normalize-folder":
        shutil.rmtree(os.path.join(folder, "%d_Normalize" % (len(steps) + 1)))
    elif layout == "0_Transformer":
        move_transformer(folder)
    st = SentenceTransformer(folder, device="cpu")
    assert [type(m).__name__ for m in st] == ["Transformer", "Pooling"] + [
        "Normalize" if s == "normalize" else "Dense" for s in steps], list(st)
    batch = texts()
    features = st.tokenize(batch)
    ids = [row[:n].tolist() for row, n in zip(features["input_ids"],
                                              features["attention_mask"].sum(1).tolist())]
    embedding = st.encode(batch, convert_to_tensor=True, show_progress_bar=False)
    # The request's normalize flipped: without the Normalize modules, or with one at the end.
    if "normalize" in steps:
        kept = [m for m in st if not isinstance(m, models.Normalize)]
        flipped = SentenceTransformer(modules=kept, device="cpu").encode(
            batch, convert_to_tensor=True, show_progress_bar=False)
    else:
        flipped = torch.nn.functional.normalize(embedding, p=2, dim=1)
    doc = {"variant": name, "seed": seed,
           "pipeline": [type(m).__name__ + ("(%s)" % m.get_pooling_mode_str()
                                            if isinstance(m, models.Pooling) else
                                            "(%s)" % json.dumps(m.get_config_dict())
                                            if isinstance(m, models.Dense) else "")
                        for m in st],
           "pooling": st[1].get_pooling_mode_str(), "dimensions": embedding.shape[1],
           "normalize": "normalize" in steps, "texts": batch, "ids": ids,
           "embedding": embedding.tolist(), "embedding_flipped_normalize": flipped.tolist()}
    with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(folder) for n in ns)
    print("%-22s %-60s %3d dims %5.0f KB" % (name, " ".join(doc["pipeline"])[:60],
                                             doc["dimensions"], size / 1024), flush=True)
    return size


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "st-modules"))
    p.add_argument("--only", nargs="*", help="write only these variants (same seeds)")
    args = p.parse_args()
    import torch
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    with tempfile.TemporaryDirectory(prefix="st-modules-") as base:
        tok = tiny_tokenizers.build(BASE["family"], base, seed=SEED, vocab_size=200,
                                    model_max_length=MAX_LEN)
        tiny_encoders.build_model(BASE, tok, SEED).save_pretrained(base, safe_serialization=True)
        for i, name in enumerate(VARIANTS):
            if not args.only or name in args.only:
                total += write_variant(name, base, args.out, SEED + i)
    print("total %.0f KB" % (total / 1024))


if __name__ == "__main__":
    main()
