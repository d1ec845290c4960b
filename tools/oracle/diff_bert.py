#!/usr/bin/env python3
"""Differential test: random small BERT sentence encoders, HF reference vs attnserve.

Each config is a seeded random sentence-transformers folder (written to a temp dir): hidden
size = heads x head_dim with odd head counts, 1-3 layers, cased or uncased WordPiece vocab
(strip_accents variants), special tokens at BERT-base ids or compact ids, CLS/mean/max
pooling with or without Normalize, keys with or without the `bert.` prefix (a BertForMaskedLM
checkpoint without pooler), different max_seq_length. Reference: SentenceTransformer(folder)
.encode for the folder's own pipeline, and BertModel + explicit pooling for the request
overrides (pooling x normalize); token ids from the slow BertTokenizer. Ours: the server's
Tokenize and Encode RPCs (see ours.py / --ours).

    .venv-oracle/bin/python tools/oracle/diff_bert.py [--configs 6] [--seed 1] [--ours CMD]
    .venv-oracle/bin/python tools/oracle/diff_bert.py --reference_only   # no server needed

Prints FAIL lines and closes with "N passed, N failed"; exit status 1 on any failure.
"""
import argparse
import collections
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ours  # noqa: E402

WORDS = ["the", "a", "model", "server", "token", "embedding", "vector", "search", "fast", "exact",
         "Hugging", "Face", "Transformers", "BERT", "London", "Paris", "café", "naïve", "Zürich",
         "straße", "résumé", "São", "Ångström", "日本", "中文", "東京", "語", "hello", "world",
         "running", "played", "unbelievable", "re-run", "state-of-the-art", "don't", "e.g.",
         "3.14", "2024", "100%", "$5", "#tag", "@user", "a/b", "x+y", "(yes)", "[no]", "ok!",
         "what?", "🙂", "😀😀", "ÉCOLE", "İstanbul", "ﬁne", "ＡＢＣ", "\u00a0", "\t", "Привет",
         "καλημέρα", "naive", "cafe", "MODEL", "Server", "ToKeN"]


def random_text(rng, max_words):
    words = [rng.choice(WORDS) for _ in range(rng.randint(0, max_words))]
    sep = rng.choice([" ", " ", " ", "  ", "\n"])
    return sep.join(words)


def make_vocab(rng, corpus, lower, strip_accents, layout):
    """WordPiece vocab from the corpus' basic-tokenized words: specials, characters (a few
    left out, so that [UNK] happens), ##characters, frequent words and ##suffixes."""
    from transformers.models.bert.tokenization_bert import BasicTokenizer
    basic = BasicTokenizer(do_lower_case=lower, strip_accents=strip_accents)
    counts = collections.Counter(w for t in corpus for w in basic.tokenize(t))
    chars = sorted({c for w in counts for c in w})
    dropped = set(rng.sample(chars, min(3, len(chars) // 10)))
    chars = [c for c in chars if c not in dropped]
    pieces = chars + ["##" + c for c in chars]
    pieces += [w for w, _ in counts.most_common(60) if len(w) > 1]
    suffixes = collections.Counter(w[k:] for w in counts for k in range(2, len(w) - 1))
    pieces += ["##" + s for s, _ in suffixes.most_common(40)]
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    if layout == "bert-base":  # [PAD]=0, [unused0..98], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103
        head = ["[PAD]"] + ["[unused%d]" % i for i in range(99)] + specials[1:]
    else:
        head = specials
    vocab = list(head)
    for p in pieces:
        if p not in vocab:
            vocab.append(p)
    return vocab


def random_config(rng, index):
    heads = rng.choice([1, 2, 3, 4, 5, 6])
    head_dim = rng.choice([8, 12, 16])
    max_pos = rng.choice([40, 64, 128])
    return {
        "index": index, "heads": heads, "hidden": heads * head_dim,
        "layers": rng.randint(1, 3), "ffn_mult": rng.choice([2, 4]), "max_pos": max_pos,
        "max_seq_length": rng.choice([max_pos, max_pos // 2]),
        "lower": rng.random() < 0.6, "strip_accents": rng.choice([None, None, True, False]),
        "layout": rng.choice(["compact", "bert-base"]),
        "pooling": rng.choice(["cls", "mean", "max"]), "normalize": rng.random() < 0.7,
        "prefix": rng.random() < 0.5,
    }


def noisy_(model, rng_seed):
    """Seeded noise on biases and LayerNorms (HF inits them to 0/1, hiding a missing add)."""
    import torch
    g = torch.Generator().manual_seed(rng_seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.1)


def write_folder(cfg, folder, seed):
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizer
    rng = random.Random(seed)
    corpus = [random_text(rng, 30) for _ in range(300)]
    vocab = make_vocab(rng, corpus, cfg["lower"], cfg["strip_accents"], cfg["layout"])
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    tok = BertTokenizer(os.path.join(folder, "vocab.txt"), do_lower_case=cfg["lower"],
                        strip_accents=cfg["strip_accents"], model_max_length=cfg["max_pos"])
    tok.save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=cfg["hidden"],
                        num_hidden_layers=cfg["layers"], num_attention_heads=cfg["heads"],
                        intermediate_size=cfg["hidden"] * cfg["ffn_mult"],
                        max_position_embeddings=cfg["max_pos"], initializer_range=0.1,
                        pad_token_id=vocab.index("[PAD]"))
    torch.manual_seed(seed)
    model = BertForMaskedLM(config) if cfg["prefix"] else BertModel(config)
    noisy_(model, seed)
    model.save_pretrained(folder, safe_serialization=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if cfg["normalize"]:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
    os.makedirs(os.path.join(folder, "1_Pooling"))
    dump(modules, folder, "modules.json")
    dump({"word_embedding_dimension": cfg["hidden"],
          "pooling_mode_cls_token": cfg["pooling"] == "cls",
          "pooling_mode_mean_tokens": cfg["pooling"] == "mean",
          "pooling_mode_max_tokens": cfg["pooling"] == "max",
          "pooling_mode_mean_sqrt_len_tokens": False}, folder, "1_Pooling/config.json")
    dump({"max_seq_length": cfg["max_seq_length"], "do_lower_case": False}, folder,
         "sentence_bert_config.json")
    texts = [random_text(rng, 12) for _ in range(12)] + [
        "", " ", "[SEP] literal [MASK]", random_text(rng, 3 * cfg["max_seq_length"]),
        " ".join(["token"] * (cfg["max_seq_length"] - 2)),
        " ".join(["token"] * (cfg["max_seq_length"] - 1))]
    return texts


def dump(obj, folder, name):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)


def pool(h, mask, how, normalize):
    import torch
    m = mask.unsqueeze(-1).to(h.dtype)
    if how == "cls":
        x = h[:, 0]
    elif how == "mean":
        x = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
    else:  # as sentence-transformers: padding set to -1e9 before the max
        x = torch.where(m > 0, h, torch.full_like(h, -1e9)).max(1).values
    return torch.nn.functional.normalize(x, p=2, dim=1) if normalize else x


def reference(folder, texts):
    """ids per text, the folder pipeline's embeddings, and every pooling x normalize."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertTokenizer
    st = SentenceTransformer(folder, device="cpu")
    tok = BertTokenizer.from_pretrained(folder)
    ids = [tok(t, truncation=True, max_length=st.max_seq_length)["input_ids"] for t in texts]
    full = [len(tok(t)["input_ids"]) for t in texts]
    width = max(len(x) for x in ids)
    inp = torch.tensor([x + [tok.pad_token_id] * (width - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
    with torch.no_grad():
        h = st[0].auto_model(input_ids=inp, attention_mask=mask,
                             token_type_ids=torch.zeros_like(inp)).last_hidden_state
        pooled = {(p, n): pool(h, mask, p, n).numpy() for p in ("cls", "mean", "max")
                  for n in (False, True)}
    default = st.encode(texts, convert_to_numpy=True, show_progress_bar=False)
    return {"ids": ids, "truncated": [f > len(i) for f, i in zip(full, ids)],
            "default": np.asarray(default, dtype=np.float32), "pooled": pooled}


def close(got, want, tol=1e-4):
    import numpy as np
    got, want = np.asarray(got, dtype=np.float32), np.asarray(want, dtype=np.float32)
    if got.shape != want.shape:
        return False, "shape %s want %s" % (got.shape, want.shape)
    err = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))) if want.size else 0.0
    return err <= tol, "max rel/abs err %.2e" % err


def compare(server, cfg, texts, ref, report):
    import grpc
    pb = server.pb
    tag = "config %d" % cfg["index"]
    try:
        r = server.stub.Tokenize(pb.TokenizeRequest(model=server.name, texts=texts, truncate=True),
                                 timeout=60)
        for i, (t, want) in enumerate(zip(r.texts, ref["ids"])):
            report.check(list(t.token_ids) == want, "%s Tokenize texts[%d] %r" % (tag, i, texts[i][:40]),
                         "got %s want %s" % (list(t.token_ids)[:12], want[:12]))
    except grpc.RpcError as e:
        report.check(False, "%s Tokenize" % tag, str(e.code()) + " " + e.details())
    poolings = {"cls": pb.POOLING_CLS, "mean": pb.POOLING_MEAN, "max": pb.POOLING_MAX}
    requests = [("default", {}, ref["default"])]
    for (p, n), want in ref["pooled"].items():
        requests.append(("pooling=%s normalize=%s" % (p, n), {"pooling": poolings[p], "normalize": n}, want))
    for what, extra, want in requests:
        try:
            r = server.stub.Encode(pb.EncodeRequest(model=server.name, texts=texts, truncate=True,
                                                    **extra), timeout=120)
            got = [list(e.values) for e in r.embeddings]
            ok, detail = close(got, want)
            report.check(ok, "%s Encode %s" % (tag, what), detail)
            if what == "default":
                flags = [e.truncated for e in r.embeddings]
                report.check(flags == ref["truncated"], "%s Encode truncated flags" % tag,
                             "got %s want %s" % (flags, ref["truncated"]))
        except grpc.RpcError as e:
            report.check(False, "%s Encode %s" % (tag, what), str(e.code()) + " " + e.details())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", type=int, default=6)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the temp model folders")
    ours.add_arguments(p)
    args = p.parse_args()
    import numpy as np
    import torch
    torch.set_num_threads(1)
    rng = random.Random(args.seed)

    def run_one(index, folder, report):
        cfg = random_config(rng, index)
        texts = write_folder(cfg, folder, args.seed * 1000 + index)
        ref = reference(folder, texts)
        own = ref["pooled"][(cfg["pooling"], cfg["normalize"])]
        err = float(np.abs(own - ref["default"]).max())
        report.check(err <= 1e-5, "config %d reference self-check (ST.encode vs explicit "
                     "pooling)" % index, "%.2e" % err)
        print("config %d: %s -> %s" % (index, json.dumps(cfg), folder), flush=True)
        if not args.reference_only:
            ours.with_server(args, folder, index, report,
                             lambda server: compare(server, cfg, texts, ref, report))

    ours.for_each_config(args, "bert", run_one)

if __name__ == "__main__":
    main()
