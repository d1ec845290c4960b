#!/usr/bin/env python3
"""Differential test: random small Marian translators, HF generate() vs attnserve.

Each config is a seeded random opus-mt style folder (written to a temp dir) with its own tiny
SentencePiece unigram models trained here on generated English-/German-like text: different
d_model / heads / encoder and decoder depths / FFN sizes, scale_embedding on or off, shared
joint vocabulary or separate vocabularies (share_encoder_decoder_embeddings false,
separate_vocabs true, separate embedding matrices), different max_position_embeddings, and a
generation_config.json with various num_beams, max_length, early_stopping, length_penalty.
Every config is asked for greedy, the folder's default beam search, and beam searches with
request overrides (beam size, n-best, length penalty, early stopping, max_new_tokens).

Weights are random (init_std 0.2, noise on biases/LayerNorms, `</s>` logit bias raised so that
rows stop by themselves): outputs are gibberish, but HF's exact ids are the reference. A
mismatch on a case whose reference has a near-tie (greedy top-1/top-2 margin or the gap between
returned beam scores below 1e-3) is reported as WARN, not FAIL: fp32 rounding may flip it.

    .venv-oracle/bin/python tools/oracle/diff_marian.py [--configs 4] [--seed 1] [--ours CMD]
    .venv-oracle/bin/python tools/oracle/diff_marian.py --reference_only   # no server needed

Closes with "N passed, N failed"; exit status 1 on any failure.
"""
import argparse
import io
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ours  # noqa: E402

EN = ["the", "house", "is", "small", "green", "we", "translate", "text", "quickly", "model",
      "server", "river", "mountain", "city", "night", "day", "book", "reads", "writes", "and",
      "or", "not", "very", "Hello", "world", "cats", "dogs", "3", "42", "2024", ",", ".", "?", "!",
      "naïve", "café", "John's", "state-of-the-art"]
DE = ["das", "Haus", "ist", "klein", "grün", "wir", "übersetzen", "Text", "schnell", "Modell",
      "Server", "Fluss", "Berg", "Stadt", "Nacht", "Tag", "Buch", "liest", "schreibt", "und",
      "oder", "nicht", "sehr", "Hallo", "Welt", "Katzen", "Hunde", "3", "42", "2024", ",", ".",
      "?", "!", "Straße", "größer", "Mädchen", "Übersetzung"]
MARGIN = 1e-3


def sentence(rng, words, n_max):
    return " ".join(rng.choice(words) for _ in range(rng.randint(1, n_max)))


def random_config(rng, index):
    d_model = rng.choice([32, 48, 64])
    heads = rng.choice([h for h in (2, 3, 4, 8) if d_model % h == 0 and d_model // h >= 8])
    return {
        "index": index, "d_model": d_model, "heads": heads,
        "encoder_layers": rng.randint(1, 3), "decoder_layers": rng.randint(1, 3),
        "ffn": rng.choice([64, 96, 128]), "scale_embedding": rng.random() < 0.8,
        "shared": rng.random() < 0.5, "max_pos": rng.choice([48, 64, 128]),
        "spm_size": rng.choice([150, 200, 250]),
        "gen": {"num_beams": rng.choice([2, 3, 4, 5]), "max_length": rng.choice([24, 32, 64]),
                **({"early_stopping": rng.random() < 0.5} if rng.random() < 0.5 else {}),
                **({"length_penalty": rng.choice([0.6, 1.3])} if rng.random() < 0.5 else {})},
    }


def train_spm(lines, size, path):
    import sentencepiece as spm
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf,
                                   model_type="unigram", vocab_size=size, character_coverage=1.0,
                                   normalization_rule_name="nmt_nfkc", num_threads=1,
                                   hard_vocab_limit=False, minloglevel=2)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def spm_pieces(path):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=path)
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())
            if not (sp.is_unknown(i) or sp.is_control(i))]


def vocab_from(pieces_lists, size=None):
    """opus-mt layout: </s>=0, <unk>=1, pieces..., <pad> last (padded to `size` entries with
    never-produced filler pieces, so that separate vocabularies share the pad id)."""
    vocab = {"</s>": 0, "<unk>": 1}
    for pieces in pieces_lists:
        for p in pieces:
            vocab.setdefault(p, len(vocab))
    k = 0
    while size is not None and len(vocab) < size - 1:
        vocab.setdefault("<filler_%d>" % k, len(vocab))
        k += 1
    vocab["<pad>"] = len(vocab)
    return vocab


def write_folder(cfg, folder, seed):
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer
    rng = random.Random(seed)
    train_spm([sentence(rng, EN, 12) for _ in range(3000)], cfg["spm_size"],
              os.path.join(folder, "source.spm"))
    train_spm([sentence(rng, DE, 12) for _ in range(3000)], cfg["spm_size"],
              os.path.join(folder, "target.spm"))
    src, tgt = spm_pieces(os.path.join(folder, "source.spm")), spm_pieces(os.path.join(folder, "target.spm"))
    if cfg["shared"]:
        files = {"vocab.json": vocab_from([src, tgt])}
    else:
        size = max(len(src), len(tgt)) + 3
        files = {"vocab.json": vocab_from([src], size), "target_vocab.json": vocab_from([tgt], size)}
    for name, vocab in files.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False, indent=2)
    tok = MarianTokenizer(**{"vocab": os.path.join(folder, "vocab.json"),
                             "source_spm": os.path.join(folder, "source.spm"),
                             "target_spm": os.path.join(folder, "target.spm"),
                             "source_lang": "en", "target_lang": "de",
                             "model_max_length": cfg["max_pos"],
                             "separate_vocabs": not cfg["shared"],
                             **({} if cfg["shared"] else
                                {"target_vocab_file": os.path.join(folder, "target_vocab.json")})})
    tok.save_pretrained(folder)
    v_src = len(files["vocab.json"])
    v_tgt = len(files.get("target_vocab.json", files["vocab.json"]))
    pad = files["vocab.json"]["<pad>"]
    config = MarianConfig(
        vocab_size=v_src, decoder_vocab_size=v_tgt, d_model=cfg["d_model"],
        encoder_layers=cfg["encoder_layers"], decoder_layers=cfg["decoder_layers"],
        encoder_attention_heads=cfg["heads"], decoder_attention_heads=cfg["heads"],
        encoder_ffn_dim=cfg["ffn"], decoder_ffn_dim=cfg["ffn"],
        max_position_embeddings=cfg["max_pos"], activation_function="swish", init_std=0.2,
        scale_embedding=cfg["scale_embedding"], static_position_embeddings=True,
        share_encoder_decoder_embeddings=cfg["shared"], pad_token_id=pad, eos_token_id=0,
        bos_token_id=0, forced_eos_token_id=0, decoder_start_token_id=pad,
        architectures=["MarianMTModel"])
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "layer_norm" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.1)
        for emb in {id(e): e for e in (model.get_input_embeddings(), model.get_decoder().embed_tokens)}.values():
            emb.weight[pad] = torch.randn(cfg["d_model"], generator=g) * 0.2
        model.final_logits_bias.add_(torch.randn(model.final_logits_bias.shape, generator=g))
        model.final_logits_bias[0, 0] += 4.0
    model.generation_config = GenerationConfig(
        bad_words_ids=[[pad]], bos_token_id=0, decoder_start_token_id=pad, eos_token_id=0,
        forced_eos_token_id=0, pad_token_id=pad, **cfg["gen"])
    model.save_pretrained(folder, safe_serialization=True)
    texts = [sentence(rng, EN, 10) for _ in range(5)] + [
        "", "</s> literal", sentence(rng, EN, 3 * cfg["max_pos"])]
    return texts


def requests(cfg, rng):
    """(label, proto fields) of the Translate calls made for a config."""
    out = [("greedy", {"beam_size": 1, "max_new_tokens": 12}),
           ("default beam", {"max_new_tokens": 12})]
    for _ in range(3):
        k = rng.choice([2, 3, 4, 5])
        req = {"beam_size": k, "num_hypotheses": rng.randint(1, k),
               "max_new_tokens": rng.choice([4, 8, 16])}
        if rng.random() < 0.7:
            req["length_penalty"] = rng.choice([0.0, 0.5, 1.0, 2.0])
        if rng.random() < 0.7:
            req["early_stopping"] = rng.random() < 0.5
        out.append(("beam %s" % json.dumps(req, sort_keys=True), req))
    return out


def reference(model, tok, texts, req):
    """HF generate() for one request: per text, a list of (ids, text, score) best first, and
    whether the reference has a near-tie."""
    import torch
    gc = model.generation_config
    beams = req.get("beam_size") or gc.num_beams
    n = max(1, req.get("num_hypotheses", 0))
    enc = tok(texts, truncation=True, padding=True, return_tensors="pt")
    kwargs = dict(num_beams=beams, do_sample=False, max_new_tokens=req["max_new_tokens"],
                  return_dict_in_generate=True, output_scores=True)
    if beams > 1:
        kwargs["num_return_sequences"] = beams
        for key in ("length_penalty", "early_stopping"):
            if key in req:
                kwargs[key] = req[key]
    with torch.no_grad():
        out = model.generate(**enc, **kwargs)
    seqs = out.sequences[:, 1:]  # drop the decoder-start token
    eos, pad = gc.eos_token_id, gc.pad_token_id
    result, ties = [], []
    if beams == 1:
        steps = torch.stack(out.scores, 1)  # processed logits [B, steps, V]
        logp = torch.log_softmax(steps.float(), -1)
        top2 = steps.topk(2, -1).values
        for b in range(len(texts)):
            ids = cut(seqs[b].tolist(), eos, pad)
            score = float(sum(logp[b, t, i] for t, i in enumerate(ids)))
            margins = [float(top2[b, t, 0] - top2[b, t, 1]) for t in range(len(ids))
                       if torch.isfinite(top2[b, t, 1])]
            result.append([(ids, tok.decode(ids, skip_special_tokens=True), score)])
            ties.append(bool(margins) and min(margins) < MARGIN)
    else:
        scores = out.sequences_scores.tolist()
        for b in range(len(texts)):
            hyps = [(cut(seqs[b * beams + k].tolist(), eos, pad), scores[b * beams + k])
                    for k in range(beams)]
            result.append([(ids, tok.decode(ids, skip_special_tokens=True), s) for ids, s in hyps[:n]])
            gaps = [hyps[k][1] - hyps[k + 1][1] for k in range(min(n, beams - 1))]
            ties.append(bool(gaps) and min(gaps) < MARGIN)
    return result, ties


def cut(ids, eos, pad):
    """Up to and including the first </s>; trailing padding dropped."""
    if eos in ids:
        return ids[:ids.index(eos) + 1]
    while ids and ids[-1] == pad:
        ids = ids[:-1]
    return ids


def compare(server, label, texts, req, want, ties, report):
    import grpc
    pb = server.pb
    try:
        r = server.stub.Translate(pb.TranslateRequest(model=server.name, texts=texts, truncate=True,
                                                      **req), timeout=300)
    except grpc.RpcError as e:
        report.check(False, label, "%s %s" % (e.code(), e.details()))
        return
    if len(r.translations) != len(texts):
        report.check(False, label, "%d translations for %d texts" % (len(r.translations), len(texts)))
        return
    for i, (tr, hyps, tie) in enumerate(zip(r.translations, want, ties)):
        got = [(list(h.token_ids), h.text, h.score) for h in tr.hypotheses]
        same_ids = [g[:2] for g in got] == [w[:2] for w in hyps]
        what = "%s texts[%d]" % (label, i)
        if not same_ids and tie:
            report.warn(what, "differs on a near-tie: got %s want %s" % ([g[0] for g in got], [w[0] for w in hyps]))
            continue
        report.check(same_ids, what, "got %s want %s" % ([g[:2] for g in got], [w[:2] for w in hyps]))
        if same_ids:
            errs = [abs(g[2] - w[2]) for g, w in zip(got, hyps)]
            report.check(max(errs) <= 1e-3, what + " scores",
                         "got %s want %s" % ([g[2] for g in got], [w[2] for w in hyps]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the temp model folders")
    ours.add_arguments(p)
    args = p.parse_args()
    import torch
    from transformers import MarianMTModel, MarianTokenizer
    torch.set_num_threads(1)
    rng = random.Random(args.seed)

    def run_one(index, folder, report):
        cfg = random_config(rng, index)
        texts = write_folder(cfg, folder, args.seed * 1000 + index)
        model = MarianMTModel.from_pretrained(folder).eval()
        tok = MarianTokenizer.from_pretrained(folder)
        calls = []
        for label, req in requests(cfg, rng):
            want, ties = reference(model, tok, texts, req)
            calls.append(("config %d %s" % (index, label), req, want, ties))
        print("config %d: %s -> %s (%d near-tie cases)" % (
            index, json.dumps(cfg), folder, sum(sum(c[3]) for c in calls)), flush=True)
        if args.reference_only:
            report.check(all(len(w) == len(texts) for _, _, w, _ in calls),
                         "config %d reference" % index)
            return

        def compare_all(server):
            for label, req, want, ties in calls:
                compare(server, label, texts, req, want, ties, report)
        ours.with_server(args, folder, index, report, compare_all)

    ours.for_each_config(args, "marian", run_one)

if __name__ == "__main__":
    main()
