#!/usr/bin/env python3
"""Trains the demo translator: English number words -> German number words (0..999999).

A small Marian model (transformers MarianMTModel) saved in exactly the on-disk format of a real
Helsinki-NLP opus-mt checkpoint (config.json, generation_config.json, model.safetensors,
source.spm, target.spm, vocab.json, tokenizer_config.json, special_tokens_map.json), so that
MarianTokenizer/MarianMTModel.from_pretrained - and attnserve - load it like any opus-mt model.
The task is checkable at a glance: "three hundred twenty-one" -> "dreihunderteinundzwanzig".

    .venv-oracle/bin/python tools/demo_translator/train.py            # ~10 min, 1 CPU thread

Deterministic for a given seed, torch version and CPU (one thread). A held-out test split of
numbers that never occur in training measures exact-match accuracy of greedy and beam search
with HF generate() on the saved folder; results go to <out>/../../tools/demo_translator/results.json
(--results) and are quoted in tools/demo_translator/README.md.
"""
import argparse
import io
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time

import number_words

HELD_OUT_PER_DIGITS = 250  # test numbers per digit count 3..6
DEV_PER_DIGITS = 50  # dev numbers per digit count 3..6 (monitoring during training)
# Sampling weights of the digit count (1..6) of a training number: short numbers are few
# and easy, long ones many.
DIGIT_WEIGHTS = [0.04, 0.08, 0.16, 0.22, 0.25, 0.25]


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(root, "models", "demo-en-de-numbers"))
    p.add_argument("--results", default=os.path.join(here, "results.json"))
    p.add_argument("--seed", type=int, default=20240611)
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=400)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--src_vocab", type=int, default=48)
    p.add_argument("--tgt_vocab", type=int, default=64)
    return p.parse_args()


def digits_range(d):
    return (0, 9) if d == 1 else (10 ** (d - 1), 10 ** d - 1)


def make_splits(rng):
    """Held-out test and dev numbers (3..6 digits, disjoint); 0..99 always stay in training
    because they are the building blocks every other number is spelled from."""
    test, dev = set(), set()
    for d in range(3, 7):
        lo, hi = digits_range(d)
        picked = rng.sample(range(lo, hi + 1), HELD_OUT_PER_DIGITS + DEV_PER_DIGITS)
        test.update(picked[:HELD_OUT_PER_DIGITS])
        dev.update(picked[HELD_OUT_PER_DIGITS:])
    return sorted(test), sorted(dev)


def sample_train_number(rng, held_out):
    while True:
        d = rng.choices(range(1, 7), weights=DIGIT_WEIGHTS)[0]
        n = rng.randint(*digits_range(d))
        if n not in held_out:
            return n


def train_spm(lines, vocab_size, normalization, seed):
    """Unigram SentencePiece model (bytes) trained on `lines`, opus-mt style ids
    (<unk>=0, <s>=1, </s>=2)."""
    import sentencepiece as spm
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="unigram",
        vocab_size=vocab_size, character_coverage=1.0, normalization_rule_name=normalization,
        num_threads=1, hard_vocab_limit=False, minloglevel=2)
    return model.getvalue()


def build_tokenizer_files(out, rng, held_out, args):
    """Writes source.spm, target.spm, vocab.json and the tokenizer config into `out`."""
    import sentencepiece as spm
    from transformers import MarianTokenizer
    numbers = list(range(1000)) + [sample_train_number(rng, held_out) for _ in range(20000)]
    # Source: case-folding normaliser, so "Three Hundred" reads like "three hundred".
    src = train_spm([number_words.english(n) for n in numbers], args.src_vocab, "nmt_nfkc_cf",
                    args.seed)
    tgt = train_spm([number_words.german(n) for n in numbers], args.tgt_vocab, "nmt_nfkc",
                    args.seed)
    # Joint vocabulary as in opus-mt: </s>=0, <unk>=1, source pieces, target-only pieces, <pad>.
    vocab = {"</s>": 0, "<unk>": 1}
    for blob in (src, tgt):
        sp = spm.SentencePieceProcessor(model_proto=blob)
        for i in range(sp.get_piece_size()):
            if sp.is_unknown(i) or sp.is_control(i):
                continue
            vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    with tempfile.TemporaryDirectory() as tmp:
        for name, blob in (("source.spm", src), ("target.spm", tgt)):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(blob)
        with open(os.path.join(tmp, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False, indent=2)
        tok = MarianTokenizer(vocab=os.path.join(tmp, "vocab.json"),
                              source_spm=os.path.join(tmp, "source.spm"),
                              target_spm=os.path.join(tmp, "target.spm"), source_lang="en",
                              target_lang="de", model_max_length=128)
        tok.save_pretrained(out)
    return vocab


class Encoder:
    """Fast id mapping identical to MarianTokenizer (checked against it in verify_tokenizer)."""

    def __init__(self, folder):
        import sentencepiece as spm
        self.src = spm.SentencePieceProcessor(model_file=os.path.join(folder, "source.spm"))
        self.tgt = spm.SentencePieceProcessor(model_file=os.path.join(folder, "target.spm"))
        with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        self.unk, self.eos = self.vocab["<unk>"], self.vocab["</s>"]
        self.pad = self.vocab["<pad>"]

    def _ids(self, sp, text):
        return [self.vocab.get(p, self.unk) for p in sp.encode(text, out_type=str)] + [self.eos]

    def source(self, text):
        return self._ids(self.src, text)

    def target(self, text):
        return self._ids(self.tgt, text)


def verify_tokenizer(folder, enc, numbers):
    from transformers import MarianTokenizer
    tok = MarianTokenizer.from_pretrained(folder)
    for n in numbers:
        en, de = number_words.english(n), number_words.german(n)
        got = tok(en, text_target=de)
        if got["input_ids"] != enc.source(en) or got["labels"] != enc.target(de):
            sys.exit("tokenizer mismatch for %d: %s / %s" % (n, got, (enc.source(en), enc.target(de))))
        if tok.decode(enc.target(de), skip_special_tokens=True) != de:
            sys.exit("detokenization of %r gives %r" % (de, tok.decode(enc.target(de), skip_special_tokens=True)))
    if tok.unk_token_id in [i for n in numbers for i in enc.source(number_words.english(n))]:
        sys.exit("source vocabulary maps some number word to <unk>")


def make_model(vocab_size, pad):
    from transformers import MarianConfig, MarianMTModel
    config = MarianConfig(
        vocab_size=vocab_size, decoder_vocab_size=vocab_size, d_model=128, encoder_layers=2,
        decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
        encoder_ffn_dim=256, decoder_ffn_dim=256, max_position_embeddings=128,
        activation_function="swish", dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
        init_std=0.02, scale_embedding=True, static_position_embeddings=True,
        share_encoder_decoder_embeddings=True, pad_token_id=pad, eos_token_id=0, bos_token_id=0,
        forced_eos_token_id=0, decoder_start_token_id=pad, architectures=["MarianMTModel"])
    return MarianMTModel(config)


def make_batch(rows, pad_value):
    import torch
    width = max(len(r) for r in rows)
    return torch.tensor([r + [pad_value] * (width - len(r)) for r in rows], dtype=torch.long)


def lr_at(step, args):
    """Linear warm-up, then cosine decay to 5% of the peak."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def train(model, enc, rng, held_out, args, dev):
    import torch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=0.1)
    model.train()
    t0, running = time.time(), 0.0
    for step in range(args.steps):
        nums = [sample_train_number(rng, held_out) for _ in range(args.batch)]
        src = make_batch([enc.source(number_words.english(n)) for n in nums], enc.pad)
        labels = make_batch([enc.target(number_words.german(n)) for n in nums], -100)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        out = model(input_ids=src, attention_mask=(src != enc.pad).long(), labels=labels)
        loss = loss_fn(out.logits.reshape(-1, out.logits.size(-1)), labels.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running += loss.item()
        if (step + 1) % 500 == 0:
            acc = evaluate(model, enc.folder_tok, dev[::2], num_beams=1)
            model.train()
            print("step %5d  loss %.4f  dev greedy exact %.3f  %.0fs" %
                  (step + 1, running / 500, acc["exact_match"], time.time() - t0), flush=True)
            running = 0.0
    model.eval()


def translate(model, tok, texts, num_beams, batch=100):
    import torch
    out = []
    for i in range(0, len(texts), batch):
        enc = tok(texts[i:i + batch], return_tensors="pt", padding=True)
        with torch.no_grad():
            gen = model.generate(**enc, num_beams=num_beams, do_sample=False)
        out += tok.batch_decode(gen, skip_special_tokens=True)
    return out


def evaluate(model, tok, numbers, num_beams):
    model.eval()
    hyps = translate(model, tok, [number_words.english(n) for n in numbers], num_beams)
    wrong = [(n, h) for n, h in zip(numbers, hyps) if h != number_words.german(n)]
    return {"n": len(numbers), "exact_match": 1 - len(wrong) / len(numbers),
            "errors": [{"number": n, "source": number_words.english(n), "got": h,
                        "want": number_words.german(n)} for n, h in wrong[:20]]}


def main():
    args = parse_args()
    import torch
    import transformers
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    test, dev = make_splits(rng)
    held_out = set(test) | set(dev)

    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    vocab = build_tokenizer_files(out, rng, held_out, args)
    enc = Encoder(out)
    verify_tokenizer(out, enc, list(range(1000)) + test[:300])
    from transformers import GenerationConfig, MarianTokenizer
    enc.folder_tok = MarianTokenizer.from_pretrained(out)
    print("vocab: %d entries (pad %d); source.spm %d, target.spm %d pieces" %
          (len(vocab), enc.pad, enc.src.get_piece_size(), enc.tgt.get_piece_size()), flush=True)

    model = make_model(len(vocab), enc.pad)
    model.generation_config = GenerationConfig(
        bad_words_ids=[[enc.pad]], bos_token_id=0, decoder_start_token_id=enc.pad, eos_token_id=0,
        forced_eos_token_id=0, max_length=64, num_beams=4, pad_token_id=enc.pad)
    print("parameters: %d" % sum(p.numel() for p in model.parameters()), flush=True)
    t0 = time.time()
    train(model, enc, rng, held_out, args, dev)
    train_seconds = time.time() - t0
    model.save_pretrained(out, safe_serialization=True)

    # Evaluate what was saved, loaded the way any user would load it.
    from transformers import MarianMTModel
    saved = MarianMTModel.from_pretrained(out).eval()
    tok = MarianTokenizer.from_pretrained(out)
    examples = [0, 7, 16, 21, 31, 100, 101, 321, 1001, 2024, 17017, 99999, 171717, 999999]
    results = {
        "seed": args.seed, "steps": args.steps, "batch": args.batch, "threads": args.threads,
        "train_seconds": round(train_seconds), "versions": {
            "torch": torch.__version__, "transformers": transformers.__version__},
        "parameters": sum(p.numel() for p in saved.parameters()),
        "test_numbers": len(test),
        "greedy": evaluate(saved, tok, test, num_beams=1),
        "beam4": evaluate(saved, tok, test, num_beams=4),
        "examples": dict(zip([number_words.english(n) for n in examples],
                             translate(saved, tok, [number_words.english(n) for n in examples], 4))),
    }
    with open(args.results, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print("test exact match: greedy %.4f, beam4 %.4f (%d held-out numbers); results in %s" %
          (results["greedy"]["exact_match"], results["beam4"]["exact_match"], len(test), args.results))


if __name__ == "__main__":
    main()
