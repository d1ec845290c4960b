"""The cases of bench/peers, shared by every engine's driver and by the spec
passed to attnserve's peer_shapes_bench.cc (one source of truth).

Token ids follow fixed formulas (mirrored in bench/peer_shapes_bench.cc) so
every engine runs the very same inputs; rows are full length (no padding):
encoder throughput = batch x tokens per forward pass, decoder throughput =
generated tokens (exactly NEW_TOKENS per row) per generate call. The rerank
case is text (rerank_texts, mirrored in bench/bench_util.cc RerankTexts):
1 query and RERANK_PASSAGES passages whose words are each one token of the
bert-base vocabulary of make_models.py, so every pair is
RERANK_PAIR_TOKENS tokens; throughput = pair tokens per call (pairs/s =
tokens/s / RERANK_PAIR_TOKENS), tokenization included on every engine.
"""
import os
from dataclasses import dataclass

NEW_TOKENS = 64
SOURCE_TOKENS = 32
MARIAN_EOS = 0
MARIAN_PAD = 58100
# XLM-R (multilingual-e5-base shape): <s> 0, <pad> 1, </s> 2, <unk> 3, then
# the SentencePiece pieces, <mask> last.
XLMR_VOCAB = 250002
XLMR_BOS, XLMR_PAD, XLMR_EOS = 0, 1, 2
# Rerank: 1 query x 100 passages, [CLS] query [SEP] passage [SEP] = 9 + 55
# tokens; CrossEncoder.predict's default batch_size and attnserve's default
# max_batch_size are both 32.
RERANK_PASSAGES, RERANK_QUERY_WORDS, RERANK_PASSAGE_WORDS = 100, 7, 54
RERANK_PAIR_TOKENS = RERANK_QUERY_WORDS + RERANK_PASSAGE_WORDS + 3
RERANK_BATCH = 32
# Encoder models whose ids are hashed over a range (bos, eos, lo, hi) rather
# than bert-base-uncased's formula.
ID_RANGES = {"xlm-r-base": (XLMR_BOS, XLMR_EOS, 3, XLMR_VOCAB)}


@dataclass(frozen=True)
class Case:
    kind: str  # "enc", "dec" or "rerank"
    model: str  # "bert-base", "minilm", "xlm-r-base", "opus-mt-en-de",
    #             "minilm-ce"
    batch: int  # rerank: passages
    tokens: int  # enc: tokens per row; dec: source tokens; rerank: per pair
    beam: int = 1
    new_tokens: int = 0

    @property
    def shape(self):
        if self.kind == "enc":
            return f"{self.batch}x{self.tokens}"
        if self.kind == "rerank":
            return f"1x{self.batch}x{self.tokens}"
        mode = "greedy" if self.beam == 1 else "beam"
        return f"{mode}{self.beam}_b{self.batch}_src{self.tokens}_new{self.new_tokens}"

    @property
    def label(self):
        if self.kind == "enc":
            return f"{self.model} {self.batch}x{self.tokens}"
        if self.kind == "rerank":
            return rerank_label(self.model, self.batch, self.tokens)
        mode = "greedy" if self.beam == 1 else f"beam {self.beam}"
        return f"{self.model} {mode} batch {self.batch}"


def rerank_label(model, passages, tokens):
    return f"{model} rerank 1 query x {passages} passages ({tokens} tokens)"


def quick():
    return os.environ.get("PEERS_QUICK", "") not in ("", "0")


def cases(quick_mode=None):
    quick_mode = quick() if quick_mode is None else quick_mode
    enc = [("bert-base", 32, 128), ("bert-base", 8, 64), ("bert-base", 1, 16),
           ("bert-base", 1, 128), ("minilm", 32, 128), ("minilm", 1, 16),
           ("xlm-r-base", 32, 128), ("xlm-r-base", 1, 128),
           ("xlm-r-base", 1, 16)]
    dec = [(1, 1), (16, 1), (1, 4)]  # (batch, beam)
    if quick_mode:
        enc = [("bert-base", 1, 128), ("minilm", 32, 128), ("minilm", 1, 16),
               ("xlm-r-base", 1, 128)]
        dec = [(1, 1)]
    out = [Case("enc", m, b, t) for m, b, t in enc]
    out += [Case("dec", "opus-mt-en-de", b, SOURCE_TOKENS, beam, NEW_TOKENS)
            for b, beam in dec]
    out.append(Case("rerank", "minilm-ce", RERANK_PASSAGES, RERANK_PAIR_TOKENS))
    only = models_filter()
    return [c for c in out if not only or c.model in only]


def models_filter():
    """PEERS_MODELS="bert-base xlm-r-base": only these models' cases (empty:
    every case)."""
    return os.environ.get("PEERS_MODELS", "").split()


def reps(quick_mode=None):
    """Timed calls per case (after one warm-up); the median is reported."""
    quick_mode = quick() if quick_mode is None else quick_mode
    return int(os.environ.get("PEERS_REPS", "2" if quick_mode else "5"))


def encoder_ids(batch, tokens, model="bert-base"):
    """The rows of an encoder case: hashed_ids over the model's ID_RANGES
    entry, else [CLS] ... [SEP] rows (101 / 102 in bert-base-uncased
    vocabularies)."""
    if model in ID_RANGES:
        return hashed_ids(batch, tokens, *ID_RANGES[model])
    rows = []
    for b in range(batch):
        row = [1000 + (b * 1009 + t * 7919) % 20000 for t in range(tokens)]
        row[0], row[-1] = 101, 102
        rows.append(row)
    return rows


def fmix32(h):
    """MurmurHash3's finalizer: a well-mixed 32-bit hash of h."""
    m = 2**32
    h ^= h >> 16
    h = h * 0x85EBCA6B % m
    h ^= h >> 13
    h = h * 0xC2B2AE35 % m
    return h ^ (h >> 16)


def hashed_ids(batch, tokens, bos, eos, lo, hi):
    """bos, pseudo-random ids in [lo, hi) (fmix32 of the position: the same
    on every engine, spread over the embedding table as real text is), eos."""
    rows = []
    for b in range(batch):
        row = [lo + fmix32(b * tokens + t + 1) % (hi - lo)
               for t in range(tokens)]
        row[0], row[-1] = bos, eos
        rows.append(row)
    return rows


def rerank_texts(passages=RERANK_PASSAGES, query_words=RERANK_QUERY_WORDS,
                 passage_words=RERANK_PASSAGE_WORDS):
    """(query, [passage, ...]): word t of passage p (p = -1: the query) is
    "w<id>", id = 1000 + ((p + 1) * 1009 + t * 7919) % 20000, one token of
    make_models.py's vocabulary."""
    def text(p, words):
        return " ".join(f"w{1000 + ((p + 1) * 1009 + t * 7919) % 20000}"
                        for t in range(words))
    return text(-1, query_words), [text(p, passage_words)
                                   for p in range(passages)]


def source_ids(batch, tokens):
    """Marian sources: pieces then </s>."""
    return [[5 + (b * 1009 + t * 7919) % 58000 for t in range(tokens - 1)]
            + [MARIAN_EOS] for b in range(batch)]


def folders(work, minilm):
    return {"bert-base": os.path.join(work, "bert-base"),
            "minilm": minilm,
            "xlm-r-base": os.path.join(work, "xlm-r-base"),
            "opus-mt-en-de": os.path.join(work, "opus-mt-en-de"),
            "minilm-ce": os.path.join(work, "minilm-ce")}


def attnserve_spec(work, minilm):
    """ATTNSERVE_PEERS_SPEC for bench/peer_shapes_bench.cc."""
    f = folders(work, minilm)
    parts = []
    for c in cases():
        if c.kind == "enc":
            ids_range = "".join(f",{v}" for v in ID_RANGES.get(c.model, ()))
            parts.append(f"enc,{c.model},{f[c.model]},{c.batch},{c.tokens}"
                         f"{ids_range}")
        elif c.kind == "rerank":
            parts.append(f"rerank,{c.model},{f[c.model]},{c.batch},"
                         f"{RERANK_QUERY_WORDS},{RERANK_PASSAGE_WORDS},"
                         f"{RERANK_BATCH}")
        else:
            parts.append(f"dec,{c.model},{f[c.model]},{c.batch},{c.beam},"
                         f"{c.tokens},{c.new_tokens}")
    return ";".join(parts)


if __name__ == "__main__":
    import sys
    print(attnserve_spec(sys.argv[1], sys.argv[2]))
