#!/usr/bin/env python3
"""Differential test: random small sentence encoders of every architecture, HF vs attnserve.

Each config is a seeded random sentence-transformers folder (written to a temp dir) of one
architecture (bert, xlm-roberta, camembert, roberta, distilbert, mpnet; tiny_encoders.py):
hidden size = heads x head_dim with odd head counts, 1-3 layers, a tokenizer family that real
checkpoints of the architecture use (tiny_tokenizers.py; for bert also a vocab.txt-only folder
with cased/uncased, strip_accents and BERT-base-id variants), every sentence-transformers pooling
mode (cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken; sometimes 2-3 of them
concatenated), 0-2 Dense modules (Identity/Tanh/ReLU/GELU/Sigmoid, with or without bias, in
folders named through modules.json's path) with or without Normalize, keys with or without the base-model prefix (a ...ForMaskedLM checkpoint),
max_seq_length at or below the position table. Texts: multilingual_texts (scripts, emoji,
control and zero-width characters, special-token and pad literals, texts of exactly and over
max_seq_length). Reference: SentenceTransformer(folder).encode for the folder's own pipeline,
and the eager base model + sentence-transformers' own Pooling and Dense modules for the request
overrides (each pooling mode x normalize; INVALID_ARGUMENT expected where the first Dense cannot
take the override's size); GetModel's dimensions and pooling_modes;
token ids from the HF fast tokenizer (AutoTokenizer, what sentence-transformers uses; also
for vocab.txt-only folders) on str.strip()ped texts, as sentence-transformers tokenizes. Ours: the server's Tokenize and Encode RPCs (see ours.py / --ours).
Request features (EncodeRequest prompt_name / prompt / dimensions / normalize /
truncation_direction): most configs get e5/nomic/bge-style prompts in
config_sentence_transformers.json (a random default_prompt_name, include_prompt true or false);
every config gets random requests of them, referenced by SentenceTransformer.encode(prompt_name=,
prompt=, truncate_dim=, normalize_embeddings=) and tokenizer.truncation_side = "left". The
closing line counts the comparisons per feature.

    .venv-oracle/bin/python tools/oracle/diff_encoders.py [--arch all] [--configs 3] [--seed 1]
    .venv-oracle/bin/python tools/oracle/diff_encoders.py --reference_only   # no server needed

Prints FAIL lines and closes with "N passed, N failed"; exit status 1 on any failure.
"""
import argparse
import collections
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multilingual_texts as mt  # noqa: E402
import ours  # noqa: E402
import tiny_encoders  # noqa: E402
import tiny_tokenizers  # noqa: E402

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


def random_config(rng, arch, index):
    heads = rng.choice([1, 2, 3, 4, 5, 6])
    head_dim = rng.choice([8, 12, 16])
    offset = tiny_encoders.POSITION_OFFSET[arch]
    max_pos = rng.choice([40, 64, 128]) + offset
    family = rng.choice(tiny_tokenizers.FAMILY_OF_ARCH[arch] +
                        (("vocab-only",) if arch == "bert" else ()))
    hidden = heads * head_dim
    pooling, dense = random_modules(rng, hidden)
    return {
        "index": index, "arch": arch, "family": family, "heads": heads, "hidden": hidden,
        "layers": rng.randint(1, 3), "intermediate": hidden * rng.choice([2, 4]),
        "max_pos": max_pos, "max_seq_length": rng.choice([max_pos - offset,
                                                          (max_pos - offset) // 2]),
        "lower": rng.random() < 0.6, "strip_accents": rng.choice([None, None, True, False]),
        "layout": rng.choice(["compact", "bert-base"]),
        "pooling": pooling, "dense": dense, "normalize": rng.random() < 0.7,
        "prefix": rng.random() < 0.5,
    }


def random_modules(rng, hidden):
    """Pooling modes (mostly one, sometimes 2-3 concatenated) and 0-2 Dense modules whose
    folders are named as sentence-transformers names them or otherwise (found through
    modules.json's path)."""
    modes = tiny_encoders.POOLING_MODES
    if rng.random() < 0.75:
        chosen = [rng.choice(modes)]
    else:
        chosen = sorted(rng.sample(modes, rng.randint(2, 3)), key=modes.index)
    dense, width = [], hidden * len(chosen)
    if rng.random() < 0.4:
        for k in range(rng.choice([1, 1, 2])):
            out = rng.choice([8, 16, 24, 40])
            dense.append({"in": width, "out": out, "bias": rng.random() < 0.7,
                          "activation": rng.choice(sorted(tiny_encoders.DENSE_ACTIVATIONS)),
                          "path": rng.choice(["%d_Dense" % (k + 2), "dense_%d" % k])})
            width = out
    return "+".join(chosen), dense


def features_of(cfg):
    """Feature labels the per-feature counts are kept under."""
    modes = cfg["pooling"].split("+")
    out = ["pooling %s" % m for m in modes]
    if len(modes) > 1:
        out.append("pooling concatenated")
    out += ["dense %s" % d["activation"] for d in cfg["dense"]]
    out.append("weights %s" % cfg.get("weights", "safetensors"))
    if len(cfg["dense"]) > 1:
        out.append("dense chain")
    if cfg["normalize"]:
        out.append("normalize")
    return out


QUERY_PROMPTS = ["query: ", "search_query: ",
                 "Represent this sentence for searching relevant passages: "]
PASSAGE_PROMPTS = ["passage: ", "search_document: ", ""]


def random_prompts(seed):
    """Prompts of a config (its own random stream, so that the architectures drawn by earlier
    versions of this script stay the same): usually a query and a passage prompt, a random
    default, include_prompt true or false."""
    rng = random.Random(seed * 31 + 7)
    if rng.random() < 0.25:
        return {}
    prompts = {"query": rng.choice(QUERY_PROMPTS), "passage": rng.choice(PASSAGE_PROMPTS)}
    return {"prompts": prompts,
            "default_prompt_name": rng.choice([None, None, "query", "passage"]),
            "include_prompt": rng.random() < 0.5}


def random_weight_format(seed):
    """How the config's checkpoint is saved (its own random stream): model.safetensors for half
    of the configs, else sharded, .bin, sharded .bin, f16 or bf16 weights."""
    rng = random.Random(seed * 31 + 13)
    if rng.random() < 0.5:
        return "safetensors"
    return rng.choice(tiny_encoders.WEIGHT_FORMATS[1:])


def random_requests(seed, names, hidden):
    """(feature, EncodeRequest fields, encode kwargs, truncation side) for one config."""
    rng = random.Random(seed * 31 + 11)
    requests = []
    for name in rng.sample(names, min(2, len(names))):
        requests.append(("prompt_name", {"prompt_name": name}, {"prompt_name": name}, "right"))
    literal = rng.choice(["Instruct: find the answer\nQuery: ", "  spaced prompt  ", "x"])
    requests.append(("prompt", {"prompt": literal}, {"prompt": literal}, "right"))
    for normalize in (None, True):
        dim = rng.randint(1, hidden)
        fields, kwargs = {"dimensions": dim}, {"truncate_dim": dim}
        if normalize:
            fields["normalize"], kwargs["normalize_embeddings"] = True, True
        if rng.random() < 0.5:
            name = rng.choice(names)
            fields["prompt_name"], kwargs["prompt_name"] = name, name
        requests.append(("dimensions" + ("+normalize" if normalize else ""), fields, kwargs,
                         "right"))
    name = rng.choice(names + [None])
    fields = {"prompt_name": name} if name else {}
    requests.append(("left_truncation", fields, dict(fields), "left"))
    return requests


def write_vocab_only(cfg, folder, seed):
    """A BERT folder with only vocab.txt (slow BertTokenizer.save_pretrained), the vocab made
    from seeded random text (cased/uncased, strip_accents, BERT-base or compact special ids)."""
    from transformers import BertTokenizer
    rng = random.Random(seed)
    corpus = [random_text(rng, 30) for _ in range(300)]
    vocab = make_vocab(rng, corpus, cfg["lower"], cfg["strip_accents"], cfg["layout"])
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    tok = BertTokenizer(os.path.join(folder, "vocab.txt"), do_lower_case=cfg["lower"],
                        strip_accents=cfg["strip_accents"], model_max_length=cfg["max_pos"])
    tok.save_pretrained(folder)
    tiny_encoders.save_model(tiny_encoders.build_model(cfg, tok, seed), folder,
                             cfg.get("weights", "safetensors"))
    tiny_encoders.write_st_files(cfg, folder, seed)
    return tok


def write_folder(cfg, folder, seed):
    """Writes the config's folder; returns its texts."""
    if cfg["family"] == "vocab-only":
        tok = write_vocab_only(cfg, folder, seed)
    else:
        tok = tiny_encoders.write_folder(cfg, folder, seed)
    rng = random.Random(seed)
    n = cfg["max_seq_length"]
    pool = [w for t in mt.SENTENCES for w in t.split()] + WORDS
    texts = rng.sample(mt.TEXTS, 14) + [
        " ".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(4)] + [
        "", " ", "[SEP] literal [MASK] <mask> </s>", "a %s b %s" % (tok.pad_token, tok.pad_token),
        mt.long_text(seed), mt.exact_length_text(tok, n, seed),
        mt.exact_length_text(tok, n + 1, seed)]
    return texts


def reference_requests(st, tok, texts, requests):
    """SentenceTransformer.encode for each request; the left-truncated ids."""
    import numpy as np
    out = []
    for feature, fields, kwargs, side in requests:
        st.tokenizer.truncation_side = side
        try:
            vectors = st.encode(texts, convert_to_numpy=True, show_progress_bar=False, **kwargs)
        finally:
            st.tokenizer.truncation_side = "right"
        out.append((feature, fields, np.asarray(vectors, dtype=np.float32)))
    tok.truncation_side = "left"
    left_ids = [tok(t.strip(), truncation=True, max_length=st.max_seq_length)["input_ids"]
                for t in texts]
    tok.truncation_side = "right"
    return out, left_ids


def reference(folder, cfg, texts, requests=()):
    """ids per text, the folder pipeline's embeddings, every pooling x normalize (None: the
    folder's first Dense cannot take that pooling), and the request features' vectors."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer
    st = tiny_encoders.load_st(folder)
    # The fast tokenizer, as sentence-transformers loads it (for a vocab.txt-only folder, converted
    # from the slow one). The slow BertTokenizer differs: it NFC-normalizes first, so with
    # strip_accents False "Cafe\u0301" is "café" there and "[UNK]" in the fast one.
    tok = AutoTokenizer.from_pretrained(folder)
    # sentence-transformers tokenizes str.strip()ped texts (Python's Unicode whitespace set);
    # only byte-level BPE sees the difference
    ids = [tok(t.strip(), truncation=True, max_length=st.max_seq_length)["input_ids"]
           for t in texts]
    full = [len(tok(t.strip())["input_ids"]) for t in texts]
    width = max(len(x) for x in ids)
    inp = torch.tensor([x + [tok.pad_token_id] * (width - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
    model = tiny_encoders.load_eager(folder)
    h, _ = tiny_encoders.forward(model, {"input_ids": inp, "attention_mask": mask,
                                         "token_type_ids": torch.zeros_like(inp)})
    from sentence_transformers import models
    denses = [m for m in st if isinstance(m, models.Dense)]

    def pipeline(modes, normalize):
        """sentence-transformers' Pooling, the folder's Dense modules, Normalize if asked."""
        with torch.no_grad():
            x = tiny_encoders.st_pool(h, mask, modes)
            for dense in denses:
                if x.shape[1] != dense.in_features:
                    return None
                x = dense({"sentence_embedding": x})["sentence_embedding"]
        return (torch.nn.functional.normalize(x, p=2, dim=1) if normalize else x).numpy()

    pooled = {(p, n): pipeline([p], n) for p in tiny_encoders.POOLING_MODES
              for n in (False, True)}
    default = st.encode(texts, convert_to_numpy=True, show_progress_bar=False)
    # The eager pooling above is of the texts as given: compare the folder's own pipeline with
    # it only when a default prompt does not change them.
    prompted = bool(st.default_prompt_name and st.prompts.get(st.default_prompt_name))
    features, left_ids = reference_requests(st, tok, texts, requests)
    return {"ids": ids, "truncated": [f > len(i) for f, i in zip(full, ids)],
            "default": np.asarray(default, dtype=np.float32), "pooled": pooled,
            "own": pipeline(cfg["pooling"].split("+"), cfg["normalize"]),
            "prompted_default": prompted, "requests": features, "left_ids": left_ids}


def close(got, want, tol):
    import numpy as np
    got, want = np.asarray(got, dtype=np.float32), np.asarray(want, dtype=np.float32)
    if got.shape != want.shape:
        return False, "shape %s want %s" % (got.shape, want.shape)
    err = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))) if want.size else 0.0
    return err <= tol, "max rel/abs err %.2e" % err


def compare(server, cfg, texts, ref, report, tol):
    import grpc
    pb = server.pb
    tag = "%s config %d" % (cfg["arch"], cfg["index"])
    check = report.check

    try:
        r = server.stub.Tokenize(pb.TokenizeRequest(model=server.name, texts=texts, truncate=True),
                                 timeout=60)
        for i, (t, want) in enumerate(zip(r.texts, ref["ids"])):
            report.check(list(t.token_ids) == want, "%s Tokenize texts[%d] %r" % (tag, i, texts[i][:40]),
                         "got %s want %s" % (list(t.token_ids)[:12], want[:12]))
    except grpc.RpcError as e:
        report.check(False, "%s Tokenize" % tag, str(e.code()) + " " + e.details())
    try:
        r = server.stub.Tokenize(pb.TokenizeRequest(
            model=server.name, texts=texts, truncate=True,
            truncation_direction=pb.TRUNCATION_DIRECTION_LEFT), timeout=60)
        for i, (t, want) in enumerate(zip(r.texts, ref["left_ids"])):
            report.check(list(t.token_ids) == want,
                         "%s Tokenize left texts[%d] %r" % (tag, i, texts[i][:40]),
                         "got %s want %s" % (list(t.token_ids)[:12], want[:12]),
                         feature="tokenize_left")
    except grpc.RpcError as e:
        report.check(False, "%s Tokenize left" % tag, str(e.code()) + " " + e.details())
    poolings = {"cls": pb.POOLING_CLS, "mean": pb.POOLING_MEAN, "max": pb.POOLING_MAX,
                "mean_sqrt_len_tokens": pb.POOLING_MEAN_SQRT_LEN,
                "weightedmean": pb.POOLING_WEIGHTED_MEAN, "lasttoken": pb.POOLING_LAST_TOKEN}
    default_features = ["default"] + features_of(cfg)
    if ref["prompted_default"]:
        default_features.append("default prompt")
    requests = [("default", {}, ref["default"], default_features)]
    if not ref["prompted_default"]:  # the eager pooling has no prompt
        for (p, n), want in ref["pooled"].items():
            features = ["override pooling %s" % p]
            if want is None:
                features.append("override rejected by Dense")
            elif cfg["dense"]:
                features.append("override through Dense")
            requests.append(("pooling=%s normalize=%s" % (p, n),
                             {"pooling": poolings[p], "normalize": n}, want, features))
    for feature, fields, want in ref["requests"]:
        extra = dict(fields)
        if feature == "left_truncation":
            extra["truncation_direction"] = pb.TRUNCATION_DIRECTION_LEFT
        features = [feature] + (["through Dense"] if cfg["dense"] else [])
        if not cfg.get("include_prompt", True) and ("prompt" in fields or "prompt_name" in fields):
            features.append("include_prompt false")
        requests.append(("%s %s" % (feature, json.dumps(fields)), extra, want, features))
    for what, extra, want, features in requests:
        try:
            r = server.stub.Encode(pb.EncodeRequest(model=server.name, texts=texts, truncate=True,
                                                    **extra), timeout=120)
            if want is None:
                check(False, "%s Encode %s" % (tag, what), "OK, want INVALID_ARGUMENT", features)
                continue
            got = [list(e.values) for e in r.embeddings]
            ok, detail = close(got, want, tol)
            if ok and r.dimensions != len(want[0]):
                ok, detail = False, "dimensions %d want %d" % (r.dimensions, len(want[0]))
            check(ok, "%s Encode %s" % (tag, what), detail, features)
            if what == "default" and not ref["prompted_default"]:
                flags = [e.truncated for e in r.embeddings]
                report.check(flags == ref["truncated"], "%s Encode truncated flags" % tag,
                             "got %s want %s" % (flags, ref["truncated"]))
        except grpc.RpcError as e:
            rejected = want is None and e.code() == grpc.StatusCode.INVALID_ARGUMENT
            check(rejected, "%s Encode %s" % (tag, what), str(e.code()) + " " + e.details(),
                  features)
    try:
        info = server.stub.GetModel(pb.GetModelRequest(name=server.name), timeout=30)
        want_dims = len(ref["default"][0])
        modes = [pb.Pooling.Name(m).lower() for m in info.pooling_modes]
        want_modes = ["pooling_" + m for m in cfg["pooling"].split("+")]
        want_modes = [{"pooling_mean_sqrt_len_tokens": "pooling_mean_sqrt_len",
                       "pooling_weightedmean": "pooling_weighted_mean",
                       "pooling_lasttoken": "pooling_last_token"}.get(m, m) for m in want_modes]
        check(info.embedding_dimensions == want_dims and modes == want_modes,
              "%s GetModel dimensions/pooling_modes" % tag,
              "got %d %s want %d %s" % (info.embedding_dimensions, modes, want_dims, want_modes),
              ["model info"])
    except grpc.RpcError as e:
        check(False, "%s GetModel" % tag, str(e.code()) + " " + e.details(), ["model info"])


def main(default_arch="all"):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default=default_arch,
                   choices=tiny_encoders.ARCHS + ("all",))
    p.add_argument("--configs", type=int, default=3, help="random configs per architecture")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tol", type=float, default=1e-5,
                   help="max error of an embedding value: absolute, relative above 1")
    p.add_argument("--keep", action="store_true", help="keep the temp model folders")
    ours.add_arguments(p)
    args = p.parse_args()
    import numpy as np
    import torch
    torch.set_num_threads(1)
    rng = random.Random(args.seed)
    archs = tiny_encoders.ARCHS if args.arch == "all" else (args.arch,)
    plan = [arch for arch in archs for _ in range(args.configs)]
    args.configs = len(plan)

    def run_one(index, folder, report):
        cfg = random_config(rng, plan[index], index)
        seed = args.seed * 1000 + index
        cfg.update(random_prompts(seed))
        cfg["weights"] = random_weight_format(seed)
        texts = write_folder(cfg, folder, seed)
        names = sorted(set(cfg.get("prompts", {})) | {"query", "document"})
        dims = (cfg["dense"][-1]["out"] if cfg["dense"]
                else cfg["hidden"] * len(cfg["pooling"].split("+")))
        requests = random_requests(seed, names, dims)
        ref = reference(folder, cfg, texts, requests)
        if not ref["prompted_default"]:  # the explicit pipeline has no prompt
            err = float(np.abs(ref["own"] - ref["default"]).max())
            report.check(err <= 1e-5, "%s config %d reference self-check (ST.encode vs "
                         "explicit pooling)" % (cfg["arch"], index), "%.2e" % err)
        print("config %d: %s -> %s" % (index, json.dumps(cfg), folder), flush=True)
        if not args.reference_only:
            ours.with_server(args, folder, index, report,
                             lambda server: compare(server, cfg, texts, ref, report, args.tol))

    ours.for_each_config(args, "encoders", run_one)


if __name__ == "__main__":
    main()
