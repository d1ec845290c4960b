"""Times one peer engine on every case of shapes.py at one thread count and
writes its results as JSON (bench/peers/run.sh runs one process per engine,
so thread pools and allocators of different engines never share a process).

  run_peer.py ENGINE THREADS WORK MINILM OUT.json
  ENGINE: hf (PyTorch + transformers fp32 / bf16; the rerank case through
          sentence-transformers' CrossEncoder.predict), ort (ONNX Runtime
          fp32, fp32 + transformer optimizer, int8), ct2 (CTranslate2
          float32 / int16 / int8)

Method (the same as bench/peer_shapes_bench.cc): one warm-up call, then
shapes.reps() timed calls; the median is reported (and the best). A case an
engine cannot run here is written with its reason, never left out.
"""
import json
import os
import statistics
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shapes  # noqa: E402


def time_median(call, reps):
    """call() -> generated/processed tokens; warm-up then `reps` timed calls."""
    call()
    seconds, tokens = [], 0
    for _ in range(reps):
        t0 = time.perf_counter()
        tokens = call()
        seconds.append(time.perf_counter() - t0)
    median = statistics.median(seconds)
    return {"tokens_per_s": tokens / median,
            "tokens_per_s_best": tokens / min(seconds),
            "tokens_per_call": tokens, "reps": reps,
            "seconds": seconds}


# ---------------------------------------------------------------- PyTorch/HF
class HfEngine:
    precisions = ["float32", "bfloat16"]

    def __init__(self, threads, folders, work):
        import torch
        torch.set_num_threads(threads)
        self.torch, self.folders, self.loaded = torch, folders, {}
        self.versions = {"torch": torch.__version__}
        import transformers
        self.versions["transformers"] = transformers.__version__

    def model(self, name, precision):
        key = (name, precision)
        if key not in self.loaded:
            self.loaded.clear()  # one model in memory at a time
            from transformers import AutoModel, MarianMTModel
            cls = MarianMTModel if name == "opus-mt-en-de" else AutoModel
            m = cls.from_pretrained(self.folders[name]).eval()
            if precision == "bfloat16":
                m = m.to(self.torch.bfloat16)
            self.loaded[key] = m
        return self.loaded[key]

    def cross_encoder(self, name, precision):
        key = (name, precision)
        if key not in self.loaded:
            self.loaded.clear()
            from sentence_transformers import CrossEncoder
            import sentence_transformers
            self.versions["sentence-transformers"] = (
                sentence_transformers.__version__)
            dtype = (self.torch.bfloat16 if precision == "bfloat16"
                     else self.torch.float32)
            self.loaded[key] = CrossEncoder(
                self.folders[name], device="cpu",
                model_kwargs={"dtype": dtype})
        return self.loaded[key]

    def rerank_runner(self, case, precision):
        """CrossEncoder.predict of the (query, passage) pairs, batch_size 32
        (its default), then the order by score as CrossEncoder.rank does."""
        model = self.cross_encoder(case.model, precision)
        query, passages = shapes.rerank_texts(case.batch)
        pairs = [(query, p) for p in passages]
        check_pair_tokens(model.tokenizer, pairs, case.tokens)

        def call():
            scores = model.predict(pairs, batch_size=shapes.RERANK_BATCH,
                                   show_progress_bar=False)
            int(scores.argmax())
            return len(pairs) * case.tokens
        return call

    def runner(self, case, precision):
        torch = self.torch
        if case.kind == "rerank":
            return self.rerank_runner(case, precision)
        model = self.model(case.model, precision)
        if case.kind == "enc":
            ids = torch.tensor(
                shapes.encoder_ids(case.batch, case.tokens, case.model))
            mask, types = torch.ones_like(ids), torch.zeros_like(ids)

            def call():
                with torch.inference_mode():
                    out = model(input_ids=ids, attention_mask=mask,
                                token_type_ids=types).last_hidden_state
                return out.shape[0] * out.shape[1]
            return call
        ids = torch.tensor(shapes.source_ids(case.batch, case.tokens))
        mask = torch.ones_like(ids)

        def call():
            with torch.inference_mode():
                out = model.generate(
                    input_ids=ids, attention_mask=mask, num_beams=case.beam,
                    do_sample=False, min_new_tokens=case.new_tokens,
                    max_new_tokens=case.new_tokens, num_return_sequences=1)
            return int((out[:, 1:] != shapes.MARIAN_PAD).sum())
        return call


# -------------------------------------------------------------- ONNX Runtime
class OrtEngine:
    precisions = ["float32", "float32+optimizer", "int8"]
    files = {"float32": "model.onnx", "float32+optimizer": "model.opt.onnx",
             "int8": "model.opt.int8.onnx"}

    def __init__(self, threads, folders, work):
        import numpy
        import onnxruntime
        self.ort, self.np, self.threads, self.work = (
            onnxruntime, numpy, threads, work)
        self.versions = {"onnxruntime": onnxruntime.__version__}
        self.sessions = {}

    def runner(self, case, precision):
        if case.kind == "dec":
            raise NotImplementedError(
                "not run: ONNX Runtime has no generate loop of its own "
                "(it needs optimum or onnxruntime-genai); the decoder is "
                "compared with PyTorch and CTranslate2")
        path = os.path.join(self.work, "onnx", case.model,
                            self.files[precision])
        if not os.path.exists(path):
            raise FileNotFoundError(conversion_error(
                self.work, precision_step(precision), case.model, path))
        key = (case.model, precision)
        if key not in self.sessions:
            self.sessions.clear()
            o = self.ort.SessionOptions()
            o.intra_op_num_threads = self.threads
            o.inter_op_num_threads = 1
            o.execution_mode = self.ort.ExecutionMode.ORT_SEQUENTIAL
            if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
                # The same wait policy as the OpenMP engines (ORT's own
                # thread pool does not read OMP_WAIT_POLICY).
                o.add_session_config_entry(
                    "session.intra_op.allow_spinning", "0")
            self.sessions[key] = self.ort.InferenceSession(
                path, o, providers=["CPUExecutionProvider"])
        session = self.sessions[key]
        if case.kind == "rerank":
            return self.rerank_runner(case, session)
        ids = self.np.array(
            shapes.encoder_ids(case.batch, case.tokens, case.model),
            dtype=self.np.int64)
        names = {i.name for i in session.get_inputs()}
        feeds = {"input_ids": ids, "attention_mask": self.np.ones_like(ids),
                 "token_type_ids": self.np.zeros_like(ids)}
        feeds = {k: v for k, v in feeds.items() if k in names}

        def call():
            out = session.run(["last_hidden_state"], feeds)[0]
            return out.shape[0] * out.shape[1]
        return call


    def rerank_runner(self, case, session):
        """What a CrossEncoder on ONNX Runtime does: the fast tokenizer per
        batch of 32 pairs (no padding here: every pair has case.tokens),
        session.run for the logits, the sigmoid, then the order by score."""
        from transformers import AutoTokenizer
        np = self.np
        tok = AutoTokenizer.from_pretrained(
            os.path.join(self.work, case.model))
        query, passages = shapes.rerank_texts(case.batch)
        check_pair_tokens(tok, [(query, p) for p in passages], case.tokens)
        names = {i.name for i in session.get_inputs()}
        b = shapes.RERANK_BATCH

        def call():
            scores = []
            for i in range(0, len(passages), b):
                chunk = passages[i:i + b]
                enc = tok([query] * len(chunk), chunk, padding=True,
                          truncation=True, return_tensors="np")
                feeds = {k: v.astype(np.int64) for k, v in enc.items()
                         if k in names}
                logits = session.run(["logits"], feeds)[0][:, 0]
                scores.append(1 / (1 + np.exp(-logits)))
            int(np.argsort(-np.concatenate(scores), kind="stable")[0])
            return len(passages) * case.tokens
        return call


def check_pair_tokens(tokenizer, pairs, tokens):
    """Every engine must see case.tokens tokens per pair (the words are
    whole vocabulary entries)."""
    lengths = {len(tokenizer(q, p, truncation=True)["input_ids"])
               for q, p in pairs}
    if lengths != {tokens}:
        raise RuntimeError(f"pairs tokenize to {sorted(lengths)} tokens, "
                           f"expected {tokens}")


def precision_step(precision):
    return {"float32": "onnx", "float32+optimizer": "onnx-opt",
            "int8": "onnx-int8"}[precision]


def conversion_error(work, step, model, path):
    try:
        with open(os.path.join(work, "conversions.json")) as f:
            entry = json.load(f).get(f"{step}/{model}", {})
        if "error" in entry:
            return f"conversion failed: {entry['error']}"
    except OSError:
        pass
    return f"{path} missing (conversion did not run)"


# --------------------------------------------------------------- CTranslate2
class Ct2Engine:
    precisions = ["float32", "int16", "int8"]

    def __init__(self, threads, folders, work):
        import ctranslate2
        import numpy
        self.ct2, self.np, self.threads, self.work = (
            ctranslate2, numpy, threads, work)
        self.versions = {
            "ctranslate2": ctranslate2.__version__,
            "ct2_cpu_compute_types": sorted(
                ctranslate2.get_supported_compute_types("cpu"))}
        self.loaded, self.folders, self.marian_pieces = {}, folders, None

    def pieces(self):
        """Marian's id -> piece, read when a decoder case first runs (with
        PEERS_MODELS, make_models.py may not have made the folder)."""
        if self.marian_pieces is None:
            path = os.path.join(self.folders["opus-mt-en-de"], "vocab.json")
            with open(path) as f:
                self.marian_pieces = {i: p for p, i in json.load(f).items()}
        return self.marian_pieces

    def model(self, case, precision):
        path = os.path.join(self.work, "ct2", case.model)
        if not os.path.exists(os.path.join(path, "model.bin")):
            raise FileNotFoundError(
                conversion_error(self.work, "ct2", case.model, path))
        key = (case.model, precision)
        if key not in self.loaded:
            self.loaded.clear()
            cls = (self.ct2.Translator if case.kind == "dec"
                   else self.ct2.Encoder)
            self.loaded[key] = cls(path, device="cpu", compute_type=precision,
                                   intra_threads=self.threads, inter_threads=1)
        return self.loaded[key]

    def runner(self, case, precision):
        if case.kind == "rerank":
            raise NotImplementedError(
                "not run: the rerank case is compared with "
                "sentence-transformers' CrossEncoder (PyTorch) and ONNX "
                "Runtime (make_models.py converts no cross-encoder for "
                "CTranslate2)")
        model = self.model(case, precision)
        if case.kind == "enc":
            ids = shapes.encoder_ids(case.batch, case.tokens, case.model)

            def call():
                out = model.forward_batch(ids)
                hidden = self.np.asarray(out.last_hidden_state)
                return hidden.shape[0] * hidden.shape[1]
            return call
        tokens = [[self.pieces()[i] for i in row]
                  for row in shapes.source_ids(case.batch, case.tokens)]

        def call():
            results = model.translate_batch(
                tokens, beam_size=case.beam, num_hypotheses=1,
                max_decoding_length=case.new_tokens,
                min_decoding_length=case.new_tokens, max_batch_size=0)
            return sum(len(r.hypotheses[0]) for r in results)
        return call


ENGINES = {"hf": HfEngine, "ort": OrtEngine, "ct2": Ct2Engine}
NAMES = {"hf": "PyTorch (HF transformers)", "ort": "ONNX Runtime",
         "ct2": "CTranslate2"}


def main(engine_name, threads, work, minilm, out_path):
    threads = int(threads)
    folders = shapes.folders(work, minilm)
    results = []
    engine = ENGINES[engine_name](threads, folders, work)
    # Model-major, then precision: each model is loaded once per precision.
    all_cases = shapes.cases()
    models = list(dict.fromkeys(c.model for c in all_cases))
    for case, precision in [(c, p) for m in models
                            for p in engine.precisions
                            for c in all_cases if c.model == m]:
        r = {"engine": engine_name, "engine_name": NAMES[engine_name],
             "precision": precision, "kind": case.kind,
             "model": case.model, "shape": case.shape, "label": case.label,
             "threads": threads}
        if case.model == "minilm" and not os.path.exists(
                os.path.join(minilm, "config.json")):
            r["error"] = (f"not available: {minilm} missing (run "
                          "deploy/install-deps.sh)")
            results.append(r)
            continue
        try:
            r.update(time_median(engine.runner(case, precision),
                                 shapes.reps()))
            if case.kind == "dec" and r["tokens_per_call"] != (
                    case.batch * case.new_tokens):
                r["warning"] = (f"generated {r['tokens_per_call']} tokens,"
                                f" expected {case.batch * case.new_tokens}")
        except NotImplementedError as e:
            r["error"] = str(e)
        except Exception as e:  # noqa: BLE001 (reported in the table)
            traceback.print_exc()
            msg = f"{type(e).__name__}: {e}".splitlines()[0]
            r["error"] = msg if msg.startswith("not") else (
                f"not available: {msg}")
        print(f"run_peer: {engine_name} {precision} {case.label} "
              f"t={threads}: "
              f"{r.get('error') or round(r['tokens_per_s'], 1)}",
              file=sys.stderr, flush=True)
        results.append(r)
    with open(out_path, "w") as f:
        json.dump({"engine": engine_name, "threads": threads,
                   "versions": engine.versions, "results": results}, f,
                  indent=2)


if __name__ == "__main__":
    main(*sys.argv[1:])
