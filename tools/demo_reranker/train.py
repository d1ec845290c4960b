#!/usr/bin/env python3
"""Trains the demo reranker: a tiny BERT cross-encoder that finds the sentence mentioning a number.

Query "seventy-three" (or "73", "how much is 73") against passages such as "The box holds 73
apples." (relevant), "The box holds 37 apples." / "We counted seven hundred thirty birds."
(not relevant): the model must read numbers in digits and in English words and compare them, so
its ranking is checkable at a glance. Numbers 0..9999 (data.MAX_NUMBER).

The folder is a standard BertForSequenceClassification (num_labels 1) with a WordPiece tokenizer
trained here (tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json), saved by
sentence-transformers' CrossEncoder.save, so that CrossEncoder(folder).predict gives sigmoid
scores and transformers' AutoModelForSequenceClassification loads it too.

    .venv-oracle/bin/python tools/demo_reranker/train.py          # ~10 min, 1 CPU thread

Deterministic for a given seed, torch version and CPU (one thread). Held-out numbers (never a
query's or a passage's number in training) measure MRR@10 and accuracy@1 of reranking 1 query x
20 candidates (1 relevant + 19 mostly hard negatives) with CrossEncoder on the saved folder,
against a BM25 token-overlap baseline and random order; results go to results.json.
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import sys
import time
from collections import Counter

import data

HELD_OUT_PER_DIGITS = 250  # test numbers with 3 and with 4 digits
DEV_PER_DIGITS = 50  # dev numbers with 3 and 4 digits (monitoring during training)
CANDIDATES = 20  # per test query: 1 relevant passage + 19 negatives
HARD_IN_TEST = 15  # of the 19 negatives, at most this many hard ones; the rest random numbers
TWO_NUMBER_SHARE = 0.25  # passages with two numbers (one may be the query's)
POSITIVE_SHARE = 0.35  # training pairs with label 1
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(root, "models", "demo-reranker-numbers"))
    p.add_argument("--results", default=os.path.join(here, "results.json"))
    p.add_argument("--seed", type=int, default=20240620)
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--ffn", type=int, default=256)
    p.add_argument("--eval_every", type=int, default=500)
    p.add_argument("--hard_start", type=float, default=0.2)
    p.add_argument("--hard_end", type=float, default=0.8)
    p.add_argument("--group", type=int, default=0,
                   help="listwise: candidates per query (1 relevant + group-1 negatives) in a "
                        "softmax cross-entropy plus BCE; 0 = BCE on independent pairs")
    return p.parse_args()


def make_splits(rng):
    """Held-out test and dev numbers (3 and 4 digits, disjoint); 0..99 always stay in training
    because every other number is spelled from them."""
    test, dev = [], []
    for lo, hi in ((100, 999), (1000, 9999)):
        picked = rng.sample(range(lo, hi + 1), HELD_OUT_PER_DIGITS + DEV_PER_DIGITS)
        test += sorted(picked[:HELD_OUT_PER_DIGITS])
        dev += sorted(picked[HELD_OUT_PER_DIGITS:])
    return test, dev


def train_number(rng, held_out):
    """Digit count 1..4 uniformly, so that short numbers are not drowned by the 9000 long ones."""
    while True:
        d = rng.randint(1, 4)
        n = rng.randint(0 if d == 1 else 10 ** (d - 1), 10 ** d - 1)
        if n not in held_out:
            return n


def fmt(rng):
    return rng.choice(("digits", "words"))


def negative_number(rng, n, held_out, share):
    hard = [m for m in data.hard_negatives(n) if m not in held_out]
    while True:
        m = rng.choice(hard) if hard and rng.random() < share else train_number(rng, held_out)
        if m != n and m not in held_out:
            return m


def passage(rng, numbers):
    return data.passage_text(rng, numbers, [fmt(rng) for _ in numbers])


def hard_share(step, args):
    """Share of hard negatives: from hard_start up to hard_end at half of training. Random
    negatives first let the model learn to look for the query's tokens in the passage at all;
    with mostly hard negatives from the start the loss sat at the prior for 1500 steps."""
    t = min(1.0, step / (0.5 * args.steps))
    return args.hard_start + t * (args.hard_end - args.hard_start)


def make_pair(rng, held_out, hard):
    """(query, passage, label) with numbers outside `held_out`; negatives hard with
    probability `hard`."""
    n = train_number(rng, held_out)
    query = data.query_text(rng, n, fmt(rng))
    label = 1.0 if rng.random() < POSITIVE_SHARE else 0.0
    numbers = [n] if label else [negative_number(rng, n, held_out, hard)]
    if rng.random() < TWO_NUMBER_SHARE:
        numbers.append(negative_number(rng, n, held_out, 0.5))
        rng.shuffle(numbers)
    return query, passage(rng, numbers), label


def make_train_group(rng, held_out, hard, size):
    """One training query with its relevant passage first, then size-1 negatives."""
    n = train_number(rng, held_out)
    query = data.query_text(rng, n, fmt(rng))
    rows = []
    for k in range(size):
        numbers = [n] if k == 0 else [negative_number(rng, n, held_out, hard)]
        if rng.random() < TWO_NUMBER_SHARE:
            numbers.append(negative_number(rng, n, held_out, 0.5))
            rng.shuffle(numbers)
        rows.append((query, passage(rng, numbers), 1.0 if k == 0 else 0.0))
    return rows


def make_group(rng, n, i):
    """Test query for held-out n: the query and the relevant passage cycle through the four
    digits/words combinations (by i); 19 negatives with up to HARD_IN_TEST hard ones."""
    qfmt = ("digits", "words")[i % 2]
    pfmt = ("digits", "words")[i // 2 % 2]
    hard = data.hard_negatives(n)
    negs = rng.sample(hard, min(HARD_IN_TEST, len(hard)))
    while len(negs) < CANDIDATES - 1:
        m = rng.randint(0, data.MAX_NUMBER)
        if m != n and m not in negs:
            negs.append(m)
    texts = []
    for m in [n] + negs:
        numbers, fmts = [m], [pfmt if m == n else fmt(rng)]
        if rng.random() < TWO_NUMBER_SHARE:
            other = rng.choice([x for x in negs if x != m])
            numbers.append(other)
            fmts.append(fmt(rng))
        texts.append(data.passage_text(rng, numbers, fmts))
    order = list(range(CANDIDATES))
    rng.shuffle(order)
    return {"number": n, "query_format": qfmt, "passage_format": pfmt,
            "query": data.query_text(rng, n, qfmt), "texts": [texts[j] for j in order],
            "relevant": order.index(0)}


def build_tokenizer(out, rng, held_out):
    """WordPiece vocabulary trained here (tokenizers) on training queries and passages with
    every number in words; digits are only single characters ("73" -> 7 ##3), so that every
    number, held out or not, is read digit by digit from the same 20 tokens."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer
    from transformers import BertTokenizerFast

    def corpus():
        for _ in range(20000):
            n = train_number(rng, held_out)
            yield data.query_text(rng, n, "words")
            yield data.passage_text(rng, [n], ["words"])
            yield data.passage_text(rng, [n, train_number(rng, held_out)], ["words", "words"])

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    alphabet = letters + list("0123456789") + list(".,?!-'\"")
    trainer = WordPieceTrainer(vocab_size=400, special_tokens=SPECIAL, initial_alphabet=alphabet,
                               continuing_subword_prefix="##", show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    vocab = tok.get_vocab()
    # Any word tokenizes (letters and digits as continuation pieces too) instead of becoming [UNK].
    for piece in ["##" + c for c in letters + list("0123456789")]:
        vocab.setdefault(piece, len(vocab))
    if any(re.fullmatch(r"(##)?\d\d+", p) for p in vocab):
        sys.exit("multi-digit piece in the vocabulary")
    tok.model = models.WordPiece(vocab, unk_token="[UNK]")
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = BertTokenizerFast(tokenizer_object=tok, do_lower_case=True, model_max_length=128,
                             unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                             cls_token="[CLS]", mask_token="[MASK]")
    fast.save_pretrained(out)
    return len(vocab)


def verify_tokenizer(folder, rng, test):
    """The fast tokenizer (tokenizer.json) and the slow one (vocab.txt) give the same ids."""
    from transformers import AutoTokenizer, BertTokenizer
    fast, slow = AutoTokenizer.from_pretrained(folder), BertTokenizer.from_pretrained(folder)
    for i, n in enumerate(test[:200]):
        g = make_group(rng, n, i)
        for t in g["texts"][:5]:
            a, b = fast(g["query"], t), slow(g["query"], t)
            if a["input_ids"] != b["input_ids"] or a["token_type_ids"] != b["token_type_ids"]:
                sys.exit("fast/slow tokenizer mismatch on %r / %r" % (g["query"], t))
            if fast.unk_token_id in a["input_ids"]:
                sys.exit("[UNK] in %r / %r" % (g["query"], t))


def make_model(vocab_size, args):
    from transformers import BertConfig, BertForSequenceClassification
    config = BertConfig(
        vocab_size=vocab_size, hidden_size=args.hidden, num_hidden_layers=args.layers,
        num_attention_heads=4, intermediate_size=args.ffn, max_position_embeddings=128,
        type_vocab_size=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        num_labels=1, pad_token_id=0, architectures=["BertForSequenceClassification"])
    return BertForSequenceClassification(config)


def lr_at(step, args):
    """Linear warm-up, then cosine decay to 5% of the peak."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def model_scorer(model, tok):
    import torch

    def score(pairs):
        model.eval()
        out = []
        for i in range(0, len(pairs), 200):
            chunk = pairs[i:i + 200]
            enc = tok([q for q, _ in chunk], [p for _, p in chunk], padding=True,
                      truncation=True, return_tensors="pt")
            with torch.no_grad():
                out += model(**enc).logits[:, 0].tolist()
        return out
    return score


def train(model, tok, rng, held_out, args, dev_groups):
    import torch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    t0, running = time.time(), 0.0
    for step in range(args.steps):
        model.train()
        hard = hard_share(step, args)
        if args.group:
            rows = [r for _ in range(args.batch // args.group)
                    for r in make_train_group(rng, held_out, hard, args.group)]
        else:
            rows = [make_pair(rng, held_out, hard) for _ in range(args.batch)]
        enc = tok([r[0] for r in rows], [r[1] for r in rows], padding=True, return_tensors="pt")
        labels = torch.tensor([r[2] for r in rows])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        logits = model(**enc).logits[:, 0]
        loss = loss_fn(logits, labels)
        if args.group:  # the relevant passage is first in each group
            listwise = torch.nn.functional.cross_entropy(
                logits.view(-1, args.group), torch.zeros(len(rows) // args.group, dtype=torch.long))
            loss = listwise + loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running += loss.item()
        if (step + 1) % args.eval_every == 0:
            m = rank_metrics(dev_groups, model_scorer(model, tok))
            print("step %5d  loss %.4f  dev MRR@10 %.3f acc@1 %.3f  %.0fs" %
                  (step + 1, running / args.eval_every, m["mrr@10"], m["accuracy@1"],
                   time.time() - t0), flush=True)
            running = 0.0
    model.eval()


def rank_metrics(groups, score, tie_rng=None):
    """MRR@10 and accuracy@1 of the relevant passage; ties broken at random by tie_rng (for the
    baselines, whose scores tie often) or by position."""
    pairs = [(g["query"], t) for g in groups for t in g["texts"]]
    scores = score(pairs)
    rr, top1 = [], 0
    for k, g in enumerate(groups):
        s = scores[k * CANDIDATES:(k + 1) * CANDIDATES]
        keys = [(v, tie_rng.random() if tie_rng else 0) for v in s]
        rank = 1 + sum(keys[j] > keys[g["relevant"]] for j in range(CANDIDATES))
        rr.append(1 / rank if rank <= 10 else 0)
        top1 += rank == 1
    return {"n": len(groups), "mrr@10": sum(rr) / len(rr), "accuracy@1": top1 / len(groups)}


def words(text):
    return re.findall(r"[a-z]+|\d+", text.lower())


def bm25(pairs):
    """BM25 (k1 1.2, b 0.75) of the query's words and digit strings, IDF over each query's 20
    passages (pairs come grouped by query, as rank_metrics builds them): what a keyword
    retriever would rank."""
    out = []
    for i in range(0, len(pairs), CANDIDATES):
        query = pairs[i][0]
        docs = [Counter(words(p)) for _, p in pairs[i:i + CANDIDATES]]
        df = Counter(w for d in docs for w in d)
        avg = sum(sum(d.values()) for d in docs) / len(docs)
        for d in docs:
            s, length = 0.0, sum(d.values())
            for w in set(words(query)):
                idf = math.log((len(docs) - df[w] + 0.5) / (df[w] + 0.5) + 1)
                s += idf * d[w] * 2.2 / (d[w] + 1.2 * (0.25 + 0.75 * length / avg))
            out.append(s)
    return out


def by_format(groups, score, tie_rng=None):
    out = {}
    for qf in ("digits", "words"):
        for pf in ("digits", "words"):
            sub = [g for g in groups if g["query_format"] == qf and g["passage_format"] == pf]
            out["query %s, passage %s" % (qf, pf)] = rank_metrics(sub, score, tie_rng)
    return out


def threshold_rates(groups, predict):
    """Share of relevant pairs scored above 0.5 and of negatives scored below it: what a
    fixed score threshold on CrossEncoder scores keeps and drops."""
    pairs = [(g["query"], t) for g in groups for t in g["texts"]]
    scores = predict(pairs)
    rel = [s for k, s in enumerate(scores) if k % CANDIDATES == groups[k // CANDIDATES]["relevant"]]
    neg = [s for k, s in enumerate(scores) if k % CANDIDATES != groups[k // CANDIDATES]["relevant"]]
    return {"relevant_above_0.5": sum(s > 0.5 for s in rel) / len(rel),
            "negatives_below_0.5": sum(s < 0.5 for s in neg) / len(neg)}


EXAMPLE_QUERY = "how much is seventy-three"
EXAMPLE_TEXTS = ["We counted 37 birds in the park.", "The box holds 73 apples.",
                 "The bridge is seven hundred thirty meters long.",
                 "There were seventy-three people at the concert.", "Our team scored 17 points."]


def main():
    args = parse_args()
    import torch
    import transformers
    import sentence_transformers
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    test, dev = make_splits(rng)
    held_out = set(test) | set(dev)
    test_groups = [make_group(random.Random(args.seed + 1 + i), n, i) for i, n in enumerate(test)]
    dev_groups = [make_group(random.Random(-1 - i), n, i) for i, n in enumerate(dev)]

    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    vocab_size = build_tokenizer(out, rng, held_out)
    verify_tokenizer(out, random.Random(args.seed), test)
    tok = transformers.AutoTokenizer.from_pretrained(out)
    model = make_model(vocab_size, args)
    params = sum(p.numel() for p in model.parameters())
    print("vocab %d, parameters %d" % (vocab_size, params), flush=True)
    t0 = time.time()
    train(model, tok, rng, held_out, args, dev_groups)
    train_seconds = time.time() - t0
    model.save_pretrained(out, safe_serialization=True)
    # CrossEncoder.save adds config.json's "sentence_transformers" key (activation_fn Sigmoid,
    # the default for one label) that the server reads as the score's activation.
    from sentence_transformers import CrossEncoder
    CrossEncoder(out).save(out)
    os.remove(os.path.join(out, "README.md"))  # the generated model card: ours is models/README.md

    # Evaluate what was saved, loaded as a user would load it.
    ce = CrossEncoder(out)

    def predict(pairs):
        return ce.predict(pairs, batch_size=64, show_progress_bar=False).tolist()

    hf = transformers.AutoModelForSequenceClassification.from_pretrained(out).eval()
    pairs = [(EXAMPLE_QUERY, t) for t in EXAMPLE_TEXTS]
    hf_scores = torch.sigmoid(torch.tensor(model_scorer(hf, tok)(pairs))).tolist()
    ce_scores = predict(pairs)
    if max(abs(a - b) for a, b in zip(hf_scores, ce_scores)) > 1e-5:
        sys.exit("CrossEncoder %s != sigmoid(AutoModel logits) %s" % (ce_scores, hf_scores))
    tie_rng = random.Random(args.seed)
    results = {
        "seed": args.seed, "steps": args.steps, "batch": args.batch, "lr": args.lr,
        "threads": args.threads, "train_seconds": round(train_seconds),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__},
        "model": {"hidden": args.hidden, "layers": args.layers, "ffn": args.ffn,
                  "vocab": vocab_size, "parameters": params},
        "test": {"queries": len(test_groups), "candidates": CANDIDATES,
                 "numbers": "250 with 3 and 250 with 4 digits, never in training"},
        "reranker": rank_metrics(test_groups, predict),
        "reranker_threshold_0.5": threshold_rates(test_groups, predict),
        "bm25": rank_metrics(test_groups, bm25, tie_rng),
        "random": {"mrr@10": sum(1 / r for r in range(1, 11)) / CANDIDATES,
                   "accuracy@1": 1 / CANDIDATES},
        "reranker_by_format": by_format(test_groups, predict),
        "bm25_by_format": by_format(test_groups, bm25, tie_rng),
        "example": {"query": EXAMPLE_QUERY,
                    "scores": [[t, round(s, 4)] for t, s in zip(EXAMPLE_TEXTS, ce_scores)]},
        "test_group_0": dict(test_groups[0], scores=[round(s, 4) for s in predict(
            [(test_groups[0]["query"], t) for t in test_groups[0]["texts"]])]),
    }
    with open(args.results, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print("test MRR@10 %.4f acc@1 %.4f (BM25 %.4f / %.4f, random %.4f / %.4f); results in %s" % (
        results["reranker"]["mrr@10"], results["reranker"]["accuracy@1"],
        results["bm25"]["mrr@10"], results["bm25"]["accuracy@1"],
        results["random"]["mrr@10"], results["random"]["accuracy@1"], args.results))


if __name__ == "__main__":
    main()
