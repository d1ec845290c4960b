#!/usr/bin/env python3
"""Writes tests/data/encoders/<arch>-tiny/ for xlm-roberta, camembert, roberta, distilbert and
mpnet: a random-weight tiny model made by transformers, saved as a sentence-transformers folder
(SentenceTransformer(modules=[Transformer, Pooling, Normalize]).save) with the matching tiny
tokenizer (tiny_tokenizers.py), plus cases.json + tensors.safetensors in the format of
tests/data/bert-tiny (see tests/data/encoders/README.md). Also the request-feature folders
(REQUEST_CONFIGS: prompts, include_prompt false) with requests.json: what
SentenceTransformer.encode returns for prompt_name / prompt / truncate_dim (with and without
normalize_embeddings) / truncation_side left.

    .venv-oracle/bin/python tools/oracle/make_encoder_fixtures.py [--out tests/data/encoders]
    .venv-oracle/bin/python tools/oracle/make_encoder_fixtures.py --archs= --requests=bert-prompts
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
SEED = 1818
# Pooling modes are mixed across the archs; max_pos = max_seq_length + the position offset.
CONFIGS = {
    "xlm-roberta": dict(family="unigram-xlmr", hidden=32, heads=2, layers=2, intermediate=64,
                        max_seq_length=24, pooling="mean", normalize=True),
    "camembert": dict(family="unigram-camembert", hidden=32, heads=4, layers=2, intermediate=48,
                      max_seq_length=20, pooling="cls", normalize=False),
    "roberta": dict(family="bpe-roberta", hidden=48, heads=3, layers=2, intermediate=96,
                    max_seq_length=30, pooling="max", normalize=True),
    "distilbert": dict(family="wordpiece-bert", hidden=48, heads=4, layers=2, intermediate=96,
                       max_seq_length=32, pooling="mean", normalize=False),
    "mpnet": dict(family="wordpiece-mpnet", hidden=48, heads=4, layers=2, intermediate=96,
                  max_seq_length=30, pooling="mean", normalize=True),
}

# Request features (EncodeRequest prompt_name / prompt / dimensions / truncation_direction):
# e5-style prompts with a default prompt (BERT, mean + Normalize), and an XLM-R folder whose
# Pooling leaves the prompt's tokens out (include_prompt false, INSTRUCTOR-style), no default.
PROMPTS = {"query": "query: ", "passage": "passage: "}
REQUEST_CONFIGS = {
    "bert-prompts": dict(arch="bert", family="wordpiece-bert", hidden=32, heads=4, layers=2,
                         intermediate=64, max_seq_length=24, pooling="mean", normalize=True,
                         prompts=PROMPTS, default_prompt_name="query"),
    "xlm-roberta-prompts-excluded": dict(arch="xlm-roberta", family="unigram-xlmr", hidden=32,
                                         heads=2, layers=2, intermediate=64, max_seq_length=24,
                                         pooling="mean", normalize=False, prompts=PROMPTS,
                                         include_prompt=False),
    # cls+max with the prompt left out: sentence-transformers' max pooling overwrites the token
    # embeddings in place, and its cls vector is a view of them, so cls comes out as -1e9s.
    "roberta-prompts-excluded-cls-max": dict(arch="roberta", family="bpe-roberta", hidden=24,
                                             heads=2, layers=2, intermediate=48,
                                             max_seq_length=24, pooling="cls+max",
                                             normalize=False, prompts=PROMPTS,
                                             include_prompt=False),
}
DIMENSIONS = 12


def request_cases():
    """(name, EncodeRequest fields, SentenceTransformer.encode kwargs, truncation_side)."""
    left = "TRUNCATION_DIRECTION_LEFT"
    return [
        ("default", {}, {}, "right"),
        ("prompt_name_query", {"prompt_name": "query"}, {"prompt_name": "query"}, "right"),
        ("prompt_name_passage", {"prompt_name": "passage"}, {"prompt_name": "passage"}, "right"),
        ("prompt_name_document", {"prompt_name": "document"}, {"prompt_name": "document"},
         "right"),
        ("literal_prompt", {"prompt": "Represent this sentence: "},
         {"prompt": "Represent this sentence: "}, "right"),
        ("empty_literal_prompt", {"prompt": ""}, {"prompt": ""}, "right"),
        ("dimensions", {"dimensions": DIMENSIONS}, {"truncate_dim": DIMENSIONS}, "right"),
        ("dimensions_normalize", {"dimensions": DIMENSIONS, "normalize": True},
         {"truncate_dim": DIMENSIONS, "normalize_embeddings": True}, "right"),
        ("left_truncation", {"truncation_direction": left}, {}, "left"),
        ("left_truncation_passage_dimensions",
         {"truncation_direction": left, "prompt_name": "passage", "dimensions": DIMENSIONS},
         {"prompt_name": "passage", "truncate_dim": DIMENSIONS}, "left"),
    ]


def request_texts(tok, max_len):
    return [mt.TEXTS[0], "short", "", "  padded with spaces  ", mt.TEXTS[5], mt.long_text(),
            mt.exact_length_text(tok, max_len, 1), mt.exact_length_text(tok, max_len + 1, 2)]


def prompt_of(st, kwargs):
    """The prompt SentenceTransformer.encode prepends for these kwargs."""
    if kwargs.get("prompt") is not None:
        return kwargs["prompt"]
    name = kwargs.get("prompt_name") or st.default_prompt_name
    return st.prompts.get(name, "") if name else ""


def run_request(st, name, fields, kwargs, side, texts):
    import numpy as np
    st.tokenizer.truncation_side = side
    try:
        vectors = st.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                            show_progress_bar=False, **kwargs)
        prompt = prompt_of(st, kwargs)
        prompted = [prompt + t for t in texts] if prompt else texts
        ids = [st.tokenize([t])["input_ids"][0].tolist() for t in prompted]
        excluded = 0
        if prompt and not st[1].include_prompt:
            excluded = st._get_prompt_length(prompt)
    finally:
        st.tokenizer.truncation_side = "right"
    return {"name": name, "request": fields, "encode_kwargs": kwargs,
            "truncation_side": side, "prompt": prompt, "excluded_prompt_tokens": excluded,
            "input_ids": ids,
            "embeddings": np.asarray(vectors, dtype=np.float32).tolist()}


def write_request_folder(name, out):
    from sentence_transformers import SentenceTransformer
    import torch
    torch.set_num_threads(1)
    cfg = dict(REQUEST_CONFIGS[name], prefix=False)
    cfg["max_pos"] = cfg["max_seq_length"] + tiny_encoders.POSITION_OFFSET[cfg["arch"]]
    folder = os.path.join(out, "%s-tiny" % name)
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="enc-fixture-") as tmp:
        tiny_encoders.write_folder_with_st(cfg, folder, SEED, tmp)
    st = SentenceTransformer(folder, device="cpu")
    texts = request_texts(st.tokenizer, cfg["max_seq_length"])
    doc = {"model": "%s-tiny" % name, "versions": versions(), "seed": SEED, "config": cfg,
           "description": "SentenceTransformer(folder).encode(texts, **encode_kwargs) with "
                          "model.tokenizer.truncation_side = truncation_side, per request; "
                          "input_ids: st.tokenize([prompt + text]) per text; "
                          "excluded_prompt_tokens: st._get_prompt_length(prompt) when the "
                          "Pooling has include_prompt false, else 0",
           "prompts": st.prompts, "default_prompt_name": st.default_prompt_name,
           "include_prompt": st[1].include_prompt,
           "dimensions": st.get_sentence_embedding_dimension(),
           "texts": texts,
           "requests": [run_request(st, *case, texts) for case in request_cases()]}
    with open(os.path.join(folder, "requests.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("%-30s %d requests x %d texts -> %s" % (name, len(doc["requests"]), len(texts), folder),
          flush=True)


def case_texts(tok, max_len):
    pad = tok.pad_token
    return [
        ("ascii", "plain ASCII sentence", [mt.TEXTS[0]]),
        ("accents", "precomposed and combining accents, ß, Turkish i", mt.TEXTS[1:5]),
        ("scripts", "Greek, Cyrillic, Arabic, Hebrew, Devanagari, Thai", mt.TEXTS[5:11]),
        ("cjk", "Chinese, Japanese kana, Korean hangul, full-width forms", mt.TEXTS[11:15]),
        ("emoji", "emoji with skin tones, ZWJ sequences, flags; emoji glued to a word",
         mt.TEXTS[15:17]),
        ("controls", "tab/newline/CR, NUL/BEL/DEL, zero-width chars, BOM, Unicode spaces",
         mt.TEXTS[17:23]),
        ("special_literal", "special-token literals written in the text", mt.TEXTS[23:25]),
        ("pad_literal", "the pad token literal inside texts: attention_mask 1 there; RoBERTa "
         "and MPNet positions skip it", ["a %s b %s c" % (pad, pad), "%s x" % pad,
                                         "x%s%sy [PAD] <pad>" % (pad, pad)]),
        ("exact_max", "exactly max_seq_length ids: nothing truncated",
         [mt.exact_length_text(tok, max_len, 1)]),
        ("over_max", "over-long texts: truncated to max_seq_length (last id is the end token)",
         [mt.long_text(), mt.TEXTS[28], mt.exact_length_text(tok, max_len + 1, 2)]),
        ("empty", "empty text: only the special tokens", [""]),
        ("whitespace", "whitespace-only texts", mt.TEXTS[31:33]),
        ("batch_padding", "texts of different lengths in one batch (right padding)",
         ["short", mt.TEXTS[0], "", "a %s b" % pad, mt.long_text(seed=3)]),
    ]


def versions():
    import numpy
    import sentence_transformers
    import sentencepiece
    import tokenizers
    import torch
    import transformers
    return {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "torch": torch.__version__, "numpy": numpy.__version__,
            "sentencepiece": sentencepiece.__version__, "python": platform.python_version()}


def run_case(st, model, arch, name, covers, texts, tensors):
    import torch
    tok = st.tokenizer
    # padding longest, truncation to st.max_seq_length, after str.strip() of each text
    features = st.tokenize(texts)
    ids, mask = features["input_ids"], features["attention_mask"]
    pos = tiny_encoders.position_ids(arch, ids, tok.pad_token_id)
    last, hidden = tiny_encoders.forward(model, features)
    if tiny_encoders.POSITION_OFFSET[arch]:  # HF's own position ids, passed explicitly
        last_pos, _ = tiny_encoders.forward(model, dict(features, position_ids=pos))
        assert torch.equal(last, last_pos), name
    embedding = torch.tensor(st.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                       show_progress_bar=False))
    pooled = {}
    for how in ("cls", "mean", "max"):
        pooled["%s_pooled" % how] = tiny_encoders.pool(last, mask, how, False)
        pooled["%s_pooled_normalized" % how] = tiny_encoders.pool(last, mask, how, True)
    own = pooled["%s_pooled%s" % (st[1].get_pooling_mode_str(),
                                  "_normalized" if len(st) > 2 else "")]
    seq_lens = mask.sum(1).tolist()
    fields = {"input_ids": ids, "attention_mask": mask, "position_ids": pos,
              "last_hidden_state": last, "embedding": embedding,
              **pooled}
    case = {"name": name, "covers": covers, "texts": texts,
            "tokens": [tok.convert_ids_to_tokens(row[:n].tolist()) for row, n in zip(ids, seq_lens)],
            "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "seq_lens": seq_lens,
            "truncated": [len(tok(t.strip())["input_ids"]) > st.max_seq_length for t in texts],
            "position_ids": pos.tolist(), "shape": list(ids.shape),
            "model_inputs": sorted(k for k in features if k in model.forward.__code__.co_varnames),
            "check": {"max_abs_diff_encode_sdpa_vs_eager_pooled":
                      float((embedding - own).abs().max())},
            "tensors": {}}
    for field, value in fields.items():
        key = "%s.%s" % (name, field)
        tensors[key] = value.clone().contiguous()
        case["tensors"][key] = {"shape": list(value.shape),
                                "dtype": "int64" if value.dtype == torch.int64 else "float32"}
    assert case["check"]["max_abs_diff_encode_sdpa_vs_eager_pooled"] < 1e-5, (name, case["check"])
    return case


def write_arch(arch, out):
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    import torch
    torch.set_num_threads(1)
    cfg = dict(CONFIGS[arch], arch=arch, prefix=False)
    cfg["max_pos"] = cfg["max_seq_length"] + tiny_encoders.POSITION_OFFSET[arch]
    folder = os.path.join(out, "%s-tiny" % arch)
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="enc-fixture-") as tmp:
        tiny_encoders.write_folder_with_st(cfg, folder, SEED, tmp)
    st = SentenceTransformer(folder, device="cpu")
    model = tiny_encoders.load_eager(folder)
    tensors, cases = {}, []
    for name, covers, texts in case_texts(st.tokenizer, cfg["max_seq_length"]):
        cases.append(run_case(st, model, arch, name, covers, texts, tensors))
    save_file(tensors, os.path.join(folder, "tensors.safetensors"))
    tok = st.tokenizer
    doc = {"model": "%s-tiny" % arch,
           "description": "Random-weight %s produced by the Hugging Face transformers reference "
                          "implementation; weights have no meaning." % type(model).__name__,
           "versions": versions(), "seed": SEED, "config": cfg,
           "init": "transformers init with initializer_range=0.1, then seeded N(0,0.1) noise on "
                   "every bias, LayerNorm weight/bias%s; all-zero embedding rows (the padding "
                   "rows of word and position embeddings) re-drawn N(0,0.1)" %
                   (" and relative_attention_bias" if arch == "mpnet" else ""),
           "tokenizer_call": {"class": type(tok).__name__ + " (fast, AutoTokenizer)",
                              "call": "SentenceTransformer.tokenize: text.strip() (Python's "
                                      "Unicode whitespace), padding longest, truncation "
                                      "longest_first, max_length=max_seq_length",
                              "max_seq_length": st.max_seq_length, "vocab_size": len(tok),
                              "special_ids": {k: tok.convert_tokens_to_ids(v) for k, v in
                                              tok.special_tokens_map.items()
                                              if isinstance(v, str)}},
           "model_call": {"class": type(model).__name__, "attn_implementation": "eager",
                          "dtype": "float32", "torch_threads": 1,
                          "position_ids": "arange" if not tiny_encoders.POSITION_OFFSET[arch]
                          else "create_position_ids_from_input_ids: cumsum(ids != pad) * "
                               "(ids != pad) + pad_id"},
           "pooling": {"mode": cfg["pooling"], "normalize": cfg["normalize"],
                       "cls": "h[:, 0]",
                       "mean": "sum_t(h*mask) / max(sum_t mask, 1e-9)",
                       "max": "max_t over h with padding set to -1e9",
                       "normalized": "x / max(||x||_2, 1e-12)",
                       "embedding": "SentenceTransformer.encode (default attention "
                                    "implementation) = the folder's own pooling"},
           "cases": cases}
    with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(folder) for n in ns)
    print("%-12s %s, %d cases, %.0f KB -> %s" % (arch, json.dumps(CONFIGS[arch]), len(cases),
                                                 size / 1024, folder), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "encoders"))
    p.add_argument("--archs", default=",".join(CONFIGS))
    p.add_argument("--requests", default=",".join(REQUEST_CONFIGS),
                   help="request-feature folders to write")
    args = p.parse_args()
    for arch in filter(None, args.archs.split(",")):
        write_arch(arch, args.out)
    for name in filter(None, args.requests.split(",")):
        write_request_folder(name, args.out)


if __name__ == "__main__":
    main()
