#!/usr/bin/env python3
"""Writes tests/data/cross-encoders/: tiny random-weight `*ForSequenceClassification` folders
made by transformers / sentence-transformers, with cases.json holding what the real libraries
give for them (see tests/data/cross-encoders/README.md):

  bert-ce-tiny            BertForSequenceClassification, 1 label, saved by CrossEncoder.save
                          (config.json "sentence_transformers": {"activation_fn": Sigmoid})
  xlm-roberta-ce-tiny     XLMRobertaForSequenceClassification, 1 label, saved by
                          save_pretrained with the pre-v4 key
                          "sbert_ce_default_activation_function": Identity (as
                          cross-encoder/ms-marco-MiniLM-L-6-v2 ships)
  distilbert-cls3-tiny    DistilBertForSequenceClassification, 3 labels with id2label
                          (a text classifier: pipeline softmax, CrossEncoder identity)
  mpnet-multilabel-tiny   MPNetForSequenceClassification, 4 labels, problem_type
                          multi_label_classification (pipeline sigmoid)

    .venv-oracle/bin/python tools/oracle/make_cross_encoder_fixtures.py [--out DIR]

Shared with diff_cross_encoders.py: write_folder(cfg, folder, seed) and reference(folder,
cases).
"""
import argparse
import json
import os
import platform
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multilingual_texts as mt  # noqa: E402
import tiny_encoders  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 2020

# A config: tiny_encoders' keys (arch, family, hidden, heads, layers, intermediate,
# max_seq_length = tokenizer model_max_length, max_pos) plus labels (id2label names),
# problem_type, save ("crossencoder": CrossEncoder.save; "pretrained": save_pretrained),
# activation (CrossEncoder activation_fn class path, or None) and legacy_activation (written as
# config.sbert_ce_default_activation_function).
CONFIGS = {
    "bert-ce": dict(arch="bert", family="wordpiece-bert", vocab_size=400, hidden=32, heads=4,
                    layers=2, intermediate=64, max_seq_length=24, max_pos=32, labels=None,
                    problem_type=None, save="crossencoder", activation=None),
    "xlm-roberta-ce": dict(arch="xlm-roberta", family="unigram-xlmr", vocab_size=500,
                           hidden=32, heads=2, layers=2, intermediate=48, max_seq_length=28,
                           max_pos=30, labels=None, problem_type=None, save="pretrained",
                           legacy_activation="torch.nn.modules.linear.Identity"),
    "distilbert-cls3": dict(arch="distilbert", family="wordpiece-bert", vocab_size=400,
                            hidden=32, heads=4, layers=2, intermediate=64, max_seq_length=26,
                            max_pos=26, labels=["negative", "neutral", "positive"],
                            problem_type="single_label_classification", save="pretrained"),
    "mpnet-multilabel": dict(arch="mpnet", family="wordpiece-mpnet", vocab_size=400, hidden=32,
                             heads=4, layers=2, intermediate=64, max_seq_length=22, max_pos=24,
                             labels=["toxic", "insult", "threat", "spam"],
                             problem_type="multi_label_classification", save="pretrained"),
}


def hf_config(cfg, tok):
    config = tiny_encoders.hf_config(cfg, tok)
    labels = cfg.get("labels")
    if labels:
        config.id2label = dict(enumerate(labels))
        config.label2id = {name: i for i, name in enumerate(labels)}
    else:
        config.num_labels = cfg.get("num_labels", 1)
    config.problem_type = cfg.get("problem_type")
    config.architectures = None
    return config


def build_model(cfg, tok, seed):
    import torch
    from transformers import AutoModelForSequenceClassification
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(hf_config(cfg, tok))
    tiny_encoders.noisy_(model, seed)
    # The last Linear of the head x20: a random tiny encoder's first-token states differ
    # little between inputs (logits within ~0.05), so the scores' order would rest on margins
    # near the 1e-5 tolerance; scaled, they spread over most of (0, 1).
    with torch.no_grad():
        out = [p for n, p in model.named_parameters()
               if n.startswith("classifier.") and n.endswith("weight")][-1]
        out.mul_(20)
    return model.eval()


def write_folder(cfg, folder, seed):
    """The folder as the config's `save` says; returns nothing (load it back to use it)."""
    with tempfile.TemporaryDirectory(prefix="ce-fixture-") as tmp:
        tok = tiny_encoders.build_tokenizer(cfg, tmp, seed)
        model = build_model(cfg, tok, seed)
        if cfg.get("legacy_activation"):
            model.config.sbert_ce_default_activation_function = cfg["legacy_activation"]
        model.save_pretrained(tmp, safe_serialization=True)
        if cfg.get("save") == "crossencoder":
            import torch
            from sentence_transformers import CrossEncoder
            act = cfg.get("activation")
            fn = None
            if act:
                import importlib
                module, name = act.rsplit(".", 1)
                fn = getattr(importlib.import_module(module), name)()
            ce = CrossEncoder(tmp, device="cpu", activation_fn=fn)
            ce.save(folder)
            for extra in ("README.md",):  # a generated model card; not needed
                if os.path.exists(os.path.join(folder, extra)):
                    os.unlink(os.path.join(folder, extra))
            del torch
        else:
            shutil.copytree(tmp, folder, dirs_exist_ok=True)
    # The slow tokenizer's SentencePiece model: fast tokenizers (and attnserve) read
    # tokenizer.json only; 250 KB saved.
    spm = os.path.join(folder, "sentencepiece.bpe.model")
    if os.path.exists(spm):
        os.unlink(spm)


def cases(tok, max_len):
    """(name, text, pair or None): plain pairs, a long passage cut by longest_first, a long
    query with a short passage, both long, an empty passage, single texts."""
    long_a, long_b = mt.long_text(seed=3, words=60), mt.long_text(seed=4, words=90)
    out = [("pair_ascii", mt.TEXTS[0], mt.TEXTS[5]),
           ("pair_accents", mt.TEXTS[1], mt.TEXTS[2]),
           ("pair_cjk", mt.TEXTS[11], mt.TEXTS[12]),
           ("pair_short", "what is it?", "it is a test."),
           ("pair_long_passage", "who wrote it?", long_b),
           ("pair_long_query", long_a, "short passage"),
           ("pair_both_long", long_a, long_b),
           ("pair_exact_max_first", mt.exact_length_text(tok, max_len - 2, 1), "x"),
           ("pair_empty_passage", "query alone", ""),
           ("pair_empty_query", "", "passage alone"),
           ("pair_whitespace", "  padded query  ", "\tpassage with tab "),
           ("single", mt.TEXTS[3], None),
           ("single_long", long_b, None),
           ("single_empty", "", None)]
    return [{"name": n, "text": a, "pair": b} for n, a, b in out]


def _features(tok, case, batch_call):
    """transformers' tokenization with truncation=True: CrossEncoder.predict's batch call
    tok([[a, b]]) or the pipeline's tok(text=a, text_pair=b)."""
    a, b = case["text"], case["pair"]
    if batch_call:
        enc = tok([[a, b]] if b is not None else [a], truncation=True)
        ids = enc["input_ids"][0]
        types = enc["token_type_ids"][0] if "token_type_ids" in enc else [0] * len(ids)
    else:
        enc = tok(text=a, text_pair=b, truncation=True)
        ids = enc["input_ids"]
        types = enc["token_type_ids"] if "token_type_ids" in enc else [0] * len(ids)
    return ids, types


def _logits(model, ids, types):
    import torch
    inputs = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids),
                                                                               dtype=torch.long)}
    if "token_type_ids" in __import__("inspect").signature(model.forward).parameters:
        inputs["token_type_ids"] = torch.tensor([types])
    with torch.no_grad():
        return model(**inputs).logits[0].tolist()


def reference(folder, case_list):
    """Per case: the CrossEncoder view (its tokenization, logits, predict() scores) and the
    pipeline view (its tokenization, logits, top_k=None labels and scores, sorted)."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForSequenceClassification, pipeline
    torch.set_num_threads(1)
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, attn_implementation="eager").eval()
    ce = CrossEncoder(folder, device="cpu")
    pipe = pipeline("text-classification", model=folder, device="cpu")
    out = []
    pairs = [(c["text"], c["pair"]) for c in case_list if c["pair"] is not None]
    ce_scores = ce.predict(pairs, batch_size=len(pairs), convert_to_numpy=True).tolist() \
        if pairs else []
    k = 0
    for c in case_list:
        r = dict(c)
        if c["pair"] is not None:
            ids, types = _features(ce.tokenizer, c, batch_call=True)
            s = ce_scores[k]
            k += 1
            r["crossencoder"] = {"ids": ids, "type_ids": types,
                                 "logits": _logits(model, ids, types),
                                 "scores": s if isinstance(s, list) else [s]}
        ids, types = _features(pipe.tokenizer, c, batch_call=False)
        inputs = {"text": c["text"], "text_pair": c["pair"]} if c["pair"] is not None \
            else c["text"]
        result = pipe(inputs, top_k=None, truncation=True)
        r["pipeline"] = {"ids": ids, "type_ids": types, "logits": _logits(model, ids, types),
                         "labels": [x["label"] for x in result],
                         "scores": [x["score"] for x in result]}
        out.append(r)
    return {"num_labels": model.config.num_labels,
            "labels": [model.config.id2label[i] for i in range(model.config.num_labels)],
            "problem_type": model.config.problem_type,
            "crossencoder_activation": type(ce.activation_fn).__name__,
            "max_length": ce.tokenizer.model_max_length,
            "cases": out}


def versions():
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "sentence_transformers": sentence_transformers.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "cross-encoders"))
    parser.add_argument("--only", default="", help="comma-separated config names")
    args = parser.parse_args()
    only = [n for n in args.only.split(",") if n]
    for name, cfg in CONFIGS.items():
        if only and name not in only:
            continue
        folder = os.path.join(args.out, "%s-tiny" % name)
        shutil.rmtree(folder, ignore_errors=True)
        write_folder(cfg, folder, SEED)
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(folder)
        doc = dict(model="%s-tiny" % name, versions=versions(), seed=SEED, config=cfg,
                   **reference(folder, cases(tok, cfg["max_seq_length"])))
        with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print("%-20s %d cases -> %s" % (name, len(doc["cases"]), folder), flush=True)


if __name__ == "__main__":
    main()
