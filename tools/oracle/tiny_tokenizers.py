"""Tiny tokenizer folders of each model family, in the format real models ship.

Each family is trained deterministically (from `seed`) on the built-in multilingual corpus of
multilingual_texts.py and saved with `save_pretrained` of the Hugging Face fast tokenizer class
that the family's real checkpoints use, so the folder holds what a Hub folder holds
(tokenizer.json + tokenizer_config.json + special_tokens_map.json + the slow files):

  wordpiece-bert     BertTokenizerFast, uncased (BertNormalizer lowercase, strip_accents null =
                     follows lowercase, so accents are stripped), [PAD]=0 [UNK]=1 [CLS]=2
                     [SEP]=3 [MASK]=4; vocab.txt
  wordpiece-mpnet    MPNetTokenizerFast: <s>=0 <pad>=1 </s>=2 <unk>=3, the BERT specials, the
                     pieces, <mask> last (lstrip); unk_token is "[UNK]" as in
                     all-mpnet-base-v2; vocab.txt
  bpe-roberta        RobertaTokenizerFast, byte-level BPE, add_prefix_space false, <s>=0
                     <pad>=1 </s>=2 <unk>=3, <mask> last (lstrip); vocab.json + merges.txt
  unigram-xlmr       XLMRobertaTokenizerFast converted from a SentencePiece Unigram model
                     (sentencepiece library, nmt_nfkc): Precompiled charsmap normalizer,
                     Metaspace pre-tokenizer, <s>=0 <pad>=1 </s>=2 <unk>=3, spm piece i at
                     i+1, <mask> last; sentencepiece.bpe.model
  unigram-camembert  CamembertTokenizerFast from the same kind of SentencePiece model:
                     <s>NOTUSED=0 <pad>=1 </s>NOTUSED=2 <unk>=3 <unk>NOTUSED=4, spm piece i
                     at i+4 (so <s>=5 </s>=6), <mask> last

    build(family, folder, seed=0, vocab_size=None, model_max_length=512) -> fast tokenizer

Needs transformers, tokenizers, sentencepiece and protobuf (no torch).
"""
import io
import json
import os
import tempfile

import multilingual_texts

FAMILIES = ("wordpiece-bert", "wordpiece-mpnet", "bpe-roberta", "unigram-xlmr",
            "unigram-camembert")
# Families whose vocabularies real checkpoints of each architecture use.
FAMILY_OF_ARCH = {
    "bert": ("wordpiece-bert",),
    "distilbert": ("wordpiece-bert",),
    "mpnet": ("wordpiece-mpnet",),
    "roberta": ("bpe-roberta",),
    "xlm-roberta": ("unigram-xlmr",),
    "camembert": ("unigram-camembert", "unigram-xlmr"),
}
DEFAULT_VOCAB = {"wordpiece-bert": 1500, "wordpiece-mpnet": 1500, "bpe-roberta": 1200,
                 "unigram-xlmr": 1000, "unigram-camembert": 1000}
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build(family, folder, seed=0, vocab_size=None, model_max_length=512):
    """Trains the family's tokenizer on corpus(seed), saves it into folder, returns it."""
    if family not in FAMILIES:
        raise ValueError("unknown tokenizer family %r; known: %s" % (family, ", ".join(FAMILIES)))
    os.makedirs(folder, exist_ok=True)
    corpus = multilingual_texts.corpus(seed)
    size = vocab_size or DEFAULT_VOCAB[family]
    with tempfile.TemporaryDirectory(prefix="tiny-tok-") as tmp:
        make = {"wordpiece-bert": _bert, "wordpiece-mpnet": _mpnet, "bpe-roberta": _roberta,
                "unigram-xlmr": _xlmr, "unigram-camembert": _camembert}[family]
        tok = make(corpus, size, seed, tmp, model_max_length)
        tok.save_pretrained(folder)
    return tok


def _wordpiece_vocab(corpus, size):
    """WordPiece pieces (without specials) from the corpus' words as the uncased BERT
    normalizer and pre-tokenizer of `tokenizers` split them: characters (the rarest left out,
    so that [UNK] occurs), their ## forms, then frequent words, ##suffixes and prefixes.
    Hand-rolled rather than tokenizers' WordPieceTrainer, whose ties make it differ from run
    to run; every sort here has a total order."""
    import collections
    from tokenizers import normalizers, pre_tokenizers
    norm, pre = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    words = collections.Counter(w for t in corpus
                                for w, _ in pre.pre_tokenize_str(norm.normalize_str(t)))
    chars = collections.Counter()
    for w, n in words.items():
        for c in w:
            chars[c] += n
    ranked = sorted(chars, key=lambda c: (-chars[c], c))
    kept = ranked[:len(ranked) - max(3, len(ranked) // 40)]
    pieces = kept + ["##" + c for c in kept]
    subwords = collections.Counter()
    for w, n in words.items():
        if len(w) > 1:
            subwords[w] += 3 * n
        for k in range(2, len(w) - 1):
            subwords["##" + w[k:]] += n
            subwords[w[:k]] += n
    seen = set(pieces)
    for p in sorted(subwords, key=lambda p: (-subwords[p], p)):
        if len(pieces) >= size - len(BERT_SPECIALS):
            break
        if p not in seen:
            seen.add(p)
            pieces.append(p)
    return pieces


def _write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _bert(corpus, size, seed, tmp, max_len):
    from transformers import BertTokenizerFast
    vocab = _write_lines(os.path.join(tmp, "vocab.txt"),
                         BERT_SPECIALS + _wordpiece_vocab(corpus, size))
    return BertTokenizerFast(vocab_file=vocab, do_lower_case=True, model_max_length=max_len)


def _mpnet(corpus, size, seed, tmp, max_len):
    from transformers import MPNetTokenizerFast
    head = ["<s>", "<pad>", "</s>", "<unk>"] + BERT_SPECIALS
    vocab = _write_lines(os.path.join(tmp, "vocab.txt"),
                         head + _wordpiece_vocab(corpus, size) + ["<mask>"])
    return MPNetTokenizerFast(vocab_file=vocab, do_lower_case=True, model_max_length=max_len)


def _roberta(corpus, size, seed, tmp, max_len):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast
    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(corpus, vocab_size=size, min_frequency=2, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    bpe.save_model(tmp)
    vocab_file = os.path.join(tmp, "vocab.json")
    with open(vocab_file, encoding="utf-8") as f:
        vocab = json.load(f)
    vocab["<mask>"] = len(vocab)  # RoBERTa's <mask> is the last id (50264 in roberta-base)
    with open(vocab_file, "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    return RobertaTokenizerFast(vocab_file=vocab_file, merges_file=os.path.join(tmp, "merges.txt"),
                                add_prefix_space=False, model_max_length=max_len)


def _spm_unigram(corpus, size, seed, tmp):
    """A SentencePiece Unigram model as XLM-R's: <unk>=0 <s>=1 </s>=2, nmt_nfkc, no byte
    fallback; one thread and a fixed generator seed make it reproducible."""
    import sentencepiece as spm
    spm.set_random_generator_seed(seed + 1)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=model, model_type="unigram",
        vocab_size=size, character_coverage=0.995, num_threads=1,
        shuffle_input_sentence=False, hard_vocab_limit=False, minloglevel=2,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
    path = os.path.join(tmp, "sentencepiece.bpe.model")
    with open(path, "wb") as f:
        f.write(model.getvalue())
    return path


def _xlmr(corpus, size, seed, tmp, max_len):
    from transformers import XLMRobertaTokenizerFast
    return XLMRobertaTokenizerFast(vocab_file=_spm_unigram(corpus, size, seed, tmp),
                                   model_max_length=max_len)


def _camembert(corpus, size, seed, tmp, max_len):
    from transformers import CamembertTokenizerFast
    return CamembertTokenizerFast(vocab_file=_spm_unigram(corpus, size, seed, tmp),
                                  model_max_length=max_len)
