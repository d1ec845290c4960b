#!/usr/bin/env python3
"""Trains the demo reranker: a tiny BERT cross-encoder that finds the sentence about a topic.

Query "animals" (or "which sentence is about fruit?") against passages such as "My sister saw a
horse yesterday." (relevant), "We waited for the truck." (not relevant) or "Forget animals: he
drew a guitar." (not relevant, although it names the query's topic): the model must know which
words belong to which of 12 topics (data.TOPICS), which a keyword retriever cannot, so its
ranking is checkable at a glance and clearly better than BM25's.

The folder is a standard BertForSequenceClassification (num_labels 1) with a WordPiece tokenizer
trained here (tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json), saved by
sentence-transformers' CrossEncoder.save, so that CrossEncoder(folder).predict gives sigmoid
scores and transformers' AutoModelForSequenceClassification loads it too.

    .venv-oracle/bin/python tools/demo_reranker/train.py          # ~4 min, 1 CPU thread

Deterministic for a given seed, torch version and CPU (one thread). The test set uses query
phrases, sentence frames and mention phrases never seen in training (data.TEST_*): 1 query x 20
candidates (1 relevant, 19 about other topics, 5 of them naming the query's topic), scored with
CrossEncoder on the saved folder: MRR@10 and accuracy@1 against BM25 and random order, written
to results.json.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402

TEST_QUERIES = 600  # 50 per topic
DEV_QUERIES = 120
CANDIDATES = 20  # per test query: 1 relevant passage + 19 negatives
TRAPS_IN_TEST = 5  # of the 19 negatives, this many name the query's topic
MENTION_SHARE = 0.3  # passages with a mention phrase naming a topic
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(root, "models", "demo-reranker-topics"))
    p.add_argument("--results", default=os.path.join(here, "results.json"))
    p.add_argument("--seed", type=int, default=20240620)
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--warmup", type=float, default=0.1, help="share of steps")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--ffn", type=int, default=256)
    p.add_argument("--eval_every", type=int, default=250)
    p.add_argument("--aux", type=float, default=1.0,
                   help="weight of the auxiliary loss: the query's and the passage's topic "
                        "predicted from [CLS] after the first layer (heads not saved)")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--init_range", type=float, default=0.02,
                   help="BertConfig.initializer_range (std of the initial weights)")
    return p.parse_args()


def other_topic(rng, topic):
    return rng.choice([t for t in data.TOPICS if t != topic])


def make_pair(rng, label):
    """(query, passage, label, query topic, passage topic) from the training wording. A share
    of passages carry a mention phrase: positives naming their own topic or another, negatives
    mostly the query's topic (the hard case), so that a topic's name in the passage is no
    evidence either way. Query and passage get filler words (data.noisy): without them the
    model learned the training wording (MRR@10 1.00) and fell to 0.62 on the test wording."""
    topic = rng.choice(list(data.TOPICS))
    query = data.noisy(rng, data.query_text(rng, topic, data.TRAIN_QUERIES), 3)
    about = topic if label else other_topic(rng, topic)
    mention = None
    if rng.random() < MENTION_SHARE:
        if label:
            mention = topic if rng.random() < 0.5 else other_topic(rng, topic)
        else:
            mention = topic if rng.random() < 0.6 else other_topic(rng, about)
    passage = data.noisy(rng, data.passage_text(rng, about, "train", mention), 4)
    return query, passage, float(label), topic, about


def make_group(rng, i):
    """Test query i (topics in turn) with 20 candidates in the test wording only: the relevant
    passage (with a mention phrase of its own or another topic in MENTION_SHARE of the groups)
    and 19 about other topics, TRAPS_IN_TEST of them naming the query's topic."""
    topic = list(data.TOPICS)[i % len(data.TOPICS)]
    mention = None
    if rng.random() < MENTION_SHARE:
        mention = topic if rng.random() < 0.5 else other_topic(rng, topic)
    texts = [data.passage_text(rng, topic, "test", mention)]
    for k in range(CANDIDATES - 1):
        about = other_topic(rng, topic)
        texts.append(data.passage_text(rng, about, "test", topic if k < TRAPS_IN_TEST else None))
    order = list(range(CANDIDATES))
    rng.shuffle(order)
    return {"topic": topic, "query": data.query_text(rng, topic, data.TEST_QUERIES),
            "texts": [texts[j] for j in order], "relevant": order.index(0)}


def build_tokenizer(out, rng):
    """WordPiece tokenizer whose vocabulary is every word seen at least 3 times in 20000
    training queries and passages (test wording excluded), plus every letter, digit and
    punctuation mark alone and every letter and digit as a continuation piece, so unseen words
    split into known pieces instead of [UNK]. Not tokenizers' WordPieceTrainer: its choice among
    equal-count merges changed between runs with the same corpus (indeed -> "##deed"/"##eed"
    or "inde"), and with it the trained model."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertTokenizerFast

    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts = Counter()
    for _ in range(20000):
        for text in make_pair(rng, rng.random() < 0.5)[:2]:
            counts.update(w for w, _ in pre_tokenizer.pre_tokenize_str(
                normalizer.normalize_str(text)))
    chars = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789")
    pieces = ({w for w, c in counts.items() if c >= 3} | set(chars) | set(".,;:?!-'\"")
              | {"##" + c for c in chars})
    vocab = {t: i for i, t in enumerate(SPECIAL + sorted(pieces))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
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


def verify_tokenizer(folder, groups):
    """The fast tokenizer (tokenizer.json) and the slow one (vocab.txt) give the same ids and
    token types, without [UNK], on the test pairs."""
    from transformers import AutoTokenizer, BertTokenizer
    fast, slow = AutoTokenizer.from_pretrained(folder), BertTokenizer.from_pretrained(folder)
    for g in groups:
        for t in g["texts"]:
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
        type_vocab_size=2, hidden_dropout_prob=args.dropout,
        attention_probs_dropout_prob=args.dropout, initializer_range=args.init_range,
        num_labels=1, pad_token_id=0, architectures=["BertForSequenceClassification"])
    return BertForSequenceClassification(config)


def lr_at(step, args):
    """Linear warm-up over args.warmup of the steps, then linear decay to 0."""
    warm = max(1, int(args.warmup * args.steps))
    if step < warm:
        return args.lr * (step + 1) / warm
    return args.lr * max(0.0, (args.steps - step) / (args.steps - warm))


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


def train(model, tok, rng, args, dev_groups):
    """BCE on pairs, each batch half positives and half negatives, plus args.aux times the
    cross-entropy of the query's and the passage's topic predicted by a linear head on [CLS]
    after the first layer. The head is thrown away after training (the saved model is a plain
    BertForSequenceClassification). Why: relevance depends only on whether the two topics agree,
    so no single word correlates with the label and the BCE gradient of the freshly initialised
    model is near zero: without the auxiliary loss the loss stayed at ln 2 (0.6932) for 2000
    steps at lr 3e-4 (initializer_range 0.02 and 0.08 alike); with it, it leaves the prior
    after ~750 steps."""
    import torch
    topics = list(data.TOPICS)
    aux = torch.nn.Linear(args.hidden, 2 * len(topics))
    opt = torch.optim.AdamW(list(model.parameters()) + list(aux.parameters()), lr=args.lr,
                            weight_decay=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    t0, running = time.time(), 0.0
    for step in range(args.steps):
        model.train()
        rows = [make_pair(rng, k % 2) for k in range(args.batch)]
        enc = tok([r[0] for r in rows], [r[1] for r in rows], padding=True, return_tensors="pt")
        labels = torch.tensor([r[2] for r in rows])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        out = model(**enc, output_hidden_states=True)
        loss = loss_fn(out.logits[:, 0], labels)
        if args.aux:
            a = aux(out.hidden_states[1][:, 0]).view(len(rows), 2, len(topics))
            want = torch.tensor([[topics.index(r[3]), topics.index(r[4])] for r in rows])
            loss = loss + args.aux * torch.nn.functional.cross_entropy(
                a.reshape(-1, len(topics)), want.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(aux.parameters()), 1.0)
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
    baselines, whose scores tie often) or against the relevant passage."""
    pairs = [(g["query"], t) for g in groups for t in g["texts"]]
    scores = score(pairs)
    rr, top1 = [], 0
    for k, g in enumerate(groups):
        s = scores[k * CANDIDATES:(k + 1) * CANDIDATES]
        keys = [(v, tie_rng.random() if tie_rng else 0) for v in s]
        rel = keys[g["relevant"]]
        rank = 1 + sum(keys[j] > rel or (keys[j] == rel and j != g["relevant"])
                       for j in range(CANDIDATES))
        rr.append(1 / rank if rank <= 10 else 0)
        top1 += rank == 1
    return {"n": len(groups), "mrr@10": sum(rr) / len(rr), "accuracy@1": top1 / len(groups)}


def words(text):
    return re.findall(r"[a-z]+|\d+", text.lower())


def bm25(pairs):
    """BM25 (k1 1.2, b 0.75) of the query's words, IDF over each query's 20 passages (pairs
    come grouped by query, as rank_metrics builds them): what a keyword retriever would rank."""
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


def threshold_rates(groups, predict):
    """Share of relevant pairs scored above 0.5 and of negatives scored below it."""
    pairs = [(g["query"], t) for g in groups for t in g["texts"]]
    scores = predict(pairs)
    rel = [s for k, s in enumerate(scores) if k % CANDIDATES == groups[k // CANDIDATES]["relevant"]]
    neg = [s for k, s in enumerate(scores) if k % CANDIDATES != groups[k // CANDIDATES]["relevant"]]
    return {"relevant_above_0.5": sum(s > 0.5 for s in rel) / len(rel),
            "negatives_below_0.5": sum(s < 0.5 for s in neg) / len(neg)}


EXAMPLE_QUERY = "which sentence is about animals?"
EXAMPLE_TEXTS = ["We waited for the truck.", "My sister saw a horse yesterday.",
                 "Forget animals: he drew a guitar.", "The children found a banana.",
                 "She bought a cat and a rabbit."]


def main():
    args = parse_args()
    import torch
    import transformers
    import sentence_transformers
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    test_groups = [make_group(random.Random(args.seed + 1 + i), i) for i in range(TEST_QUERIES)]
    dev_groups = [make_group(random.Random(-1 - i), i) for i in range(DEV_QUERIES)]

    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    vocab_size = build_tokenizer(out, rng)
    verify_tokenizer(out, test_groups)
    tok = transformers.AutoTokenizer.from_pretrained(out)
    model = make_model(vocab_size, args)
    params = sum(p.numel() for p in model.parameters())
    print("vocab %d, parameters %d" % (vocab_size, params), flush=True)
    t0 = time.time()
    train(model, tok, rng, args, dev_groups)
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
        "warmup": args.warmup, "threads": args.threads, "train_seconds": round(train_seconds),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__},
        "model": {"hidden": args.hidden, "layers": args.layers, "ffn": args.ffn,
                  "vocab": vocab_size, "parameters": params},
        "test": {"queries": len(test_groups), "candidates": CANDIDATES,
                 "negatives_naming_the_query_topic": TRAPS_IN_TEST,
                 "held_out": "query and passage templates never used in training"},
        "reranker": rank_metrics(test_groups, predict),
        "reranker_threshold_0.5": threshold_rates(test_groups, predict),
        "bm25": rank_metrics(test_groups, bm25, tie_rng),
        "random": {"mrr@10": sum(1 / r for r in range(1, 11)) / CANDIDATES,
                   "accuracy@1": 1 / CANDIDATES},
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
