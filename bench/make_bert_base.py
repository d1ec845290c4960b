"""Writes a BERT-base-size sentence-encoder folder with random weights.

    python bench/make_bert_base.py --tokenizer models/all-MiniLM-L6-v2 OUT_DIR

The serving benchmark (bench/serving.sh) needs a model of BERT-base size
(12 layers, hidden 768, FFN 3072, ~110 M parameters, ~440 MB of f32 weights)
to measure start-up time and resident memory against the weight bytes; the
values of the weights do not matter, their size and layout do. No torch: the
safetensors file is written directly (8-byte header length, JSON header,
raw little-endian tensors), one tensor at a time so memory stays small.
The tokenizer and sentence-transformers files (vocab, pooling, modules) are
copied from TOKENIZER_DIR, whose vocabulary size the embedding table uses.
"""
import argparse
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

HIDDEN = 768
LAYERS = 12
HEADS = 12
FFN = 3072
MAX_POSITIONS = 512
TYPE_VOCAB = 2

# Files of the tokenizer folder that describe tokenization and pooling.
COPIED = [
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
]


def tensor_shapes(vocab_size):
    """(name, shape) of every tensor of a HF BertModel checkpoint."""
    shapes = [
        ("embeddings.word_embeddings.weight", (vocab_size, HIDDEN)),
        ("embeddings.position_embeddings.weight", (MAX_POSITIONS, HIDDEN)),
        ("embeddings.token_type_embeddings.weight", (TYPE_VOCAB, HIDDEN)),
        ("embeddings.LayerNorm.weight", (HIDDEN,)),
        ("embeddings.LayerNorm.bias", (HIDDEN,)),
    ]
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            shapes.append((f"{p}attention.self.{name}.weight", (HIDDEN, HIDDEN)))
            shapes.append((f"{p}attention.self.{name}.bias", (HIDDEN,)))
        shapes += [
            (f"{p}attention.output.dense.weight", (HIDDEN, HIDDEN)),
            (f"{p}attention.output.dense.bias", (HIDDEN,)),
            (f"{p}attention.output.LayerNorm.weight", (HIDDEN,)),
            (f"{p}attention.output.LayerNorm.bias", (HIDDEN,)),
            (f"{p}intermediate.dense.weight", (FFN, HIDDEN)),
            (f"{p}intermediate.dense.bias", (FFN,)),
            (f"{p}output.dense.weight", (HIDDEN, FFN)),
            (f"{p}output.dense.bias", (HIDDEN,)),
            (f"{p}output.LayerNorm.weight", (HIDDEN,)),
            (f"{p}output.LayerNorm.bias", (HIDDEN,)),
        ]
    shapes += [("pooler.dense.weight", (HIDDEN, HIDDEN)),
               ("pooler.dense.bias", (HIDDEN,))]
    return shapes


def random_tensor(rng, name, shape):
    """Values of the usual BERT initialisation (LayerNorm gammas near 1)."""
    if name.endswith("LayerNorm.weight"):
        return (1.0 + 0.02 * rng.standard_normal(shape)).astype("<f4")
    if name.endswith("bias"):
        return np.zeros(shape, dtype="<f4")
    return (0.02 * rng.standard_normal(shape, dtype=np.float32)).astype("<f4")


def write_safetensors(path, shapes, seed):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes:
        nbytes = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # tensors start 8-byte aligned
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape in shapes:
            f.write(random_tensor(rng, name, shape).tobytes())
    return offset


def config(vocab_size):
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_size": HIDDEN,
        "intermediate_size": FFN,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "max_position_embeddings": MAX_POSITIONS,
        "type_vocab_size": TYPE_VOCAB,
        "vocab_size": vocab_size,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tokenizer", type=Path, required=True,
                        help="folder with vocab.txt and the sentence-"
                             "transformers files (e.g. the MiniLM)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    vocab = args.tokenizer / "vocab.txt"
    if not vocab.is_file():
        sys.exit(f"{vocab} missing: run deploy/install-deps.sh (MiniLM)")
    vocab_size = sum(1 for _ in vocab.open(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (args.tokenizer / name).is_file():
            shutil.copy(args.tokenizer / name, args.out / name)
    pooling = args.out / "1_Pooling"
    pooling.mkdir(exist_ok=True)
    (pooling / "config.json").write_text(json.dumps({
        "word_embedding_dimension": HIDDEN,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False}, indent=2))
    (args.out / "config.json").write_text(json.dumps(config(vocab_size),
                                                     indent=2))
    nbytes = write_safetensors(args.out / "model.safetensors",
                               tensor_shapes(vocab_size), args.seed)
    print(f"wrote {args.out} ({nbytes / 1e6:.0f} MB of f32 weights)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
