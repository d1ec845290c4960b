"""Renders bench/peers/README.md and last_run/peers.json from the JSON of one
bench/peers/run.sh run (attnserve-t<N>.json from attnserve-bench, and
<engine>-t<N>.json from run_peer.py).

  render.py LAST_RUN_DIR > README.md      (also writes LAST_RUN_DIR/peers.json)
"""
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes  # noqa: E402

# attnserve precision -> the peers at equal precision.
EQUAL = {"float32": [("hf", "float32"), ("ort", "float32"),
                     ("ort", "float32+optimizer"), ("ct2", "float32")],
         "int8": [("ort", "int8"), ("ct2", "int8")],
         "bfloat16": [("hf", "bfloat16")]}
COLUMNS = [("attnserve", "float32"), ("attnserve", "int8"),
           ("attnserve", "bfloat16"), ("hf", "float32"), ("hf", "bfloat16"),
           ("ort", "float32"), ("ort", "float32+optimizer"), ("ort", "int8"),
           ("ct2", "float32"), ("ct2", "int16"), ("ct2", "int8")]
SHORT = {"attnserve": "attnserve", "hf": "PyTorch", "ort": "ORT",
         "ct2": "CT2"}
PREC = {"float32": "fp32", "float32+optimizer": "fp32+opt", "int8": "int8",
        "int16": "int16", "bfloat16": "bf16"}


def col_name(engine, precision):
    return f"{SHORT[engine]} {PREC[precision]}"


def label_of(kind, model, shape):
    if kind == "enc":
        return f"{model} {shape}"
    if kind == "rerank":  # shapes.Case.shape: 1x<passages>x<tokens per pair>
        _, passages, tokens = shape.split("x")
        return shapes.rerank_label(model, int(passages), int(tokens))
    m = re.match(r"(greedy|beam)(\d+)_b(\d+)_", shape)
    mode = "greedy" if m.group(1) == "greedy" else f"beam {m.group(2)}"
    return f"{model} {mode} batch {m.group(3)}"


def read_attnserve(path):
    """Google Benchmark JSON of BM_Peers/<kind>/<model>/<shape>/<dtype>/threads:N."""
    with open(path) as f:
        data = json.load(f)
    out = []
    for b in data.get("benchmarks", []):
        parts = b["name"].split("/")
        if len(parts) < 6 or parts[0] != "BM_Peers":
            continue
        kind, model, shape, precision = parts[1:5]
        r = {"engine": "attnserve", "engine_name": "attnserve",
             "precision": precision, "kind": kind, "model": model,
             "shape": shape, "label": label_of(kind, model, shape),
             "threads": int(parts[5].split(":")[1])}
        if b.get("error_occurred"):
            r["error"] = b.get("error_message", "error")
        else:
            r["tokens_per_s"] = b["tokens/s"]
            r["tokens_per_s_best"] = b["tokens/s_best"]
            r["tokens_per_call"] = b["tokens/call"]
            r["reps"] = int(b["reps"])
        out.append(r)
    return out


def load(run_dir):
    results, versions = [], {}
    for path in sorted(glob.glob(os.path.join(run_dir, "attnserve-t*.json"))):
        results += read_attnserve(path)
    for engine in ("hf", "ort", "ct2"):
        for path in sorted(glob.glob(os.path.join(run_dir, f"{engine}-t*.json"))):
            with open(path) as f:
                data = json.load(f)
            results += data["results"]
            versions.update(data.get("versions", {}))
    return results, versions


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def ratios_of(results):
    """Per (threads, case): attnserve / each peer at equal precision, and
    attnserve int8 (and best) / the fastest peer at any precision."""
    by = {}
    for r in results:
        by.setdefault((r["threads"], r["kind"], r["model"], r["shape"]),
                      {})[(r["engine"], r["precision"])] = r
    rows = []
    for key, cells in by.items():
        ok = {k: v["tokens_per_s"] for k, v in cells.items()
              if "tokens_per_s" in v}
        row = {"threads": key[0], "kind": key[1], "model": key[2],
               "shape": key[3], "label": next(iter(cells.values()))["label"],
               "equal": [], "fastest_peer": None}
        for ours, peers in EQUAL.items():
            for peer in peers:
                entry = {"attnserve": ours, "peer": peer[0],
                         "peer_precision": peer[1]}
                if ("attnserve", ours) in ok and peer in ok:
                    entry["ratio"] = ok[("attnserve", ours)] / ok[peer]
                else:
                    missing = [k for k in (("attnserve", ours), peer)
                               if k not in ok]
                    entry["missing"] = [f"{e} {p}" for e, p in missing]
                row["equal"].append(entry)
        peers = {k: v for k, v in ok.items() if k[0] != "attnserve"}
        if peers:
            best = max(peers, key=peers.get)
            row["fastest_peer"] = {"peer": best[0], "peer_precision": best[1],
                                   "tokens_per_s": peers[best]}
            for ours in ("int8", "float32"):
                if ("attnserve", ours) in ok:
                    row[f"{ours}_vs_fastest"] = (ok[("attnserve", ours)]
                                                 / peers[best])
        rows.append(row)
    return by, rows


def isa(lscpu):
    flags, model = [], "?"
    for line in lscpu.splitlines():
        if line.startswith("Flags:"):
            flags = [f for f in line.split()[1:] if re.match(
                r"(avx|fma|f16c|amx|vnni|sse4_2|avx512)", f)]
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    return model, " ".join(flags)


# Peer precision -> attnserve's at equal precision.
SAME = {"float32": "float32", "float32+optimizer": "float32",
        "int8": "int8", "bfloat16": "bfloat16"}


def rerank_table(t, cases, by, w, prefix=""):
    """The rerank cases in pairs/s, each peer against attnserve at equal
    precision and against attnserve's fastest precision."""
    for k, m, s, label in cases:
        if k != "rerank":
            continue
        per_pair = int(s.split("x")[2])
        cells = by.get((t, k, m, s), {})
        ok = {c: r["tokens_per_s"] / per_pair for c, r in cells.items()
              if "tokens_per_s" in r}
        ours = {p: v for (e, p), v in ok.items() if e == "attnserve"}
        w("")
        w(f"## {prefix}{t} thread{'s' if t > 1 else ''}: rerank pairs/s, "
          f"attnserve / peer ({label})")
        w("")
        w("| engine | precision | pairs/s | attnserve equal precision / "
          "engine | attnserve fastest / engine |")
        w("|---|---|---|---|---|")
        fastest = max(ours.values()) if ours else None
        for c in COLUMNS:
            if c not in cells:
                continue
            engine, precision = c
            if cells[c].get("error", "").startswith("not run"):
                continue  # listed under "Not available here"
            if c not in ok:
                w(f"| {SHORT[engine]} | {PREC[precision]} | n/a | n/a | n/a |")
                continue
            same = ours.get(SAME.get(precision))
            ratio = lambda v: ("-" if engine == "attnserve" or v is None else
                               (f"**{v / ok[c]:.2f}**" if v < ok[c]
                                else f"{v / ok[c]:.2f}"))
            w(f"| {SHORT[engine]} | {PREC[precision]} | {fmt(ok[c])} | "
              f"{ratio(same)} | {ratio(fastest)} |")


def thread_tables(threads, cases, by, rows, w, prefix=""):
    """Per thread count: tokens/s of every engine, attnserve / peer, and the
    rerank cases in pairs/s; `prefix` starts every heading."""
    for t in threads:
        w("")
        w(f"## {prefix}{t} thread{'s' if t > 1 else ''}: tokens/s")
        w("")
        present = [c for c in COLUMNS if any(
            (t, k, m, s) in by and c in by[(t, k, m, s)]
            for k, m, s, _ in cases)]
        w("| case | " + " | ".join(col_name(*c) for c in present) + " |")
        w("|---|" + "---|" * len(present))
        for k, m, s, label in cases:
            cells = by.get((t, k, m, s), {})
            vals = []
            for c in present:
                r = cells.get(c)
                vals.append("-" if r is None else (
                    fmt(r["tokens_per_s"]) if "tokens_per_s" in r else "n/a"))
            w(f"| {label} | " + " | ".join(vals) + " |")
        w("")
        w(f"## {prefix}{t} thread{'s' if t > 1 else ''}: attnserve / peer")
        w("")
        w("Equal precision (attnserve fp32 / peer fp32, attnserve int8 / peer "
          "int8, attnserve bf16 / PyTorch bf16); last columns: attnserve int8 "
          "(and fp32) / the fastest peer at any precision. Goal: >= 1.0 "
          "everywhere.")
        w("")
        eq_cols = [(o, p) for o, ps in EQUAL.items() for p in ps]
        w("| case | " + " | ".join(
            f"{PREC[o]} / {col_name(*p)}" for o, p in eq_cols) +
          " | fastest peer | int8 / fastest | fp32 / fastest |")
        w("|---|" + "---|" * (len(eq_cols) + 3))
        for k, m, s, label in cases:
            row = next((r for r in rows if (r["threads"], r["kind"],
                        r["model"], r["shape"]) == (t, k, m, s)), None)
            if row is None:
                continue
            vals = []
            for e in row["equal"]:
                vals.append(f"**{e['ratio']:.2f}**" if e.get("ratio", 1) < 1
                            else f"{e['ratio']:.2f}" if "ratio" in e else "n/a")
            fp = row["fastest_peer"]
            vals.append(f"{col_name(fp['peer'], fp['peer_precision'])} "
                        f"{fmt(fp['tokens_per_s'])}" if fp else "n/a")
            for ours in ("int8", "float32"):
                v = row.get(f"{ours}_vs_fastest")
                vals.append("n/a" if v is None else
                            (f"**{v:.2f}**" if v < 1 else f"{v:.2f}"))
            w(f"| {label} | " + " | ".join(vals) + " |")
        w("")
        w("Bold: below 1.0 (the peer is faster). n/a: one side could not run "
          "(see below).")
        rerank_table(t, cases, by, w, prefix)


def not_available(results, w):
    """One line per (engine, precision, reason) with the cases it hit."""
    reasons = {}
    for r in results:
        if "error" in r:
            # attnserve names the folder first: drop it so one reason is
            # listed once for every model.
            error = re.sub(r"^(not available: )/?[\w./+-]+: ", r"\1",
                           r["error"])
            reasons.setdefault((r["engine_name"], r["precision"], error),
                               []).append(f"{r['label']} ({r['threads']}t)")
    if not reasons:
        w("Every engine ran every case.")
    for (engine, precision, error), where in sorted(reasons.items()):
        w(f"* {engine} {precision}: {error} — {len(where)} case(s): "
          f"{', '.join(where[:4])}{' ...' if len(where) > 4 else ''}")


def case_list(results):
    return list(dict.fromkeys((r["kind"], r["model"], r["shape"], r["label"])
                              for r in results if r["engine"] == "attnserve"))


def read_meta(run_dir):
    path = os.path.join(run_dir, "meta.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def subset_section(sub_dir, w):
    """A run of only some models (PEERS_MODELS: run.sh writes it next to the
    full run, as last_run-<models>, so the full run's tables stay)."""
    results, versions = load(sub_dir)
    by, rows = ratios_of(results)
    meta = read_meta(sub_dir)
    threads = sorted({r["threads"] for r in results}, reverse=True)
    name = os.path.basename(sub_dir)
    models = meta.get("models", name)
    w("")
    w(f"# Separate run: PEERS_MODELS={models}")
    w("")
    w(f"`bench/peers/run.sh` with `PEERS_MODELS={models}`"
      f"{' and PEERS_QUICK=1' if meta.get('quick') else ''} "
      f"({meta.get('date', '?')}; raw JSON in `bench/peers/{name}/`): "
      f"threads {', '.join(map(str, threads))}, "
      f"{meta.get('reps', '?')} timed calls per case (median) after 1 "
      f"warm-up, load average before / after "
      f"{meta.get('load_before', '?')} / {meta.get('load_after', '?')} on "
      f"this {os.cpu_count()}-CPU machine"
      + (" (a loaded machine: the absolute figures are indicative; read "
         "the ratios of this run)" if loaded(meta) else "") + "; "
      f"{', '.join(f'{k} {v}' for k, v in versions.items())}.")
    run = (f"{'quick ' if meta.get('quick') else ''}run "
           f"{meta.get('date', '?')[:16]}")
    thread_tables(threads, case_list(results), by, rows, w,
                  prefix=f"{models}, separate {run}: ")
    w("")
    w(f"## {models}: not available in this run")
    w("")
    not_available(results, w)


def loaded(meta):
    """True when a 1-minute load average exceeded the CPU count."""
    loads = [meta.get("load_before", ""), meta.get("load_after", "")]
    try:
        return any(float(v.split()[0]) > (os.cpu_count() or 1) for v in loads)
    except (ValueError, IndexError):
        return False


def render(run_dir):
    results, versions = load(run_dir)
    by, rows = ratios_of(results)
    meta = read_meta(run_dir)
    lscpu = open(os.path.join(run_dir, "lscpu.txt")).read()
    cpu, flags = isa(lscpu)
    threads = sorted({r["threads"] for r in results}, reverse=True)
    cases = case_list(results)
    out = []
    w = out.append
    quick = meta.get("quick", False)
    w("# attnserve vs peer engines (same machine, same run, same threads)")
    w("")
    w("Generated by `bench/peers/run.sh` (do not edit by hand: it runs "
      "attnserve-bench's `BM_Peers` cases (bench/peer_shapes_bench.cc) and "
      "bench/peers/run_peer.py for each peer engine, then renders this file "
      "with bench/peers/render.py; raw JSON in bench/peers/last_run/, "
      "summary for bench/render_readme.py in last_run/peers.json).")
    w("")
    if quick:
        w("**QUICK RUN (`PEERS_QUICK=1`): fewer shapes and timed calls, on a "
          "shared, loaded machine: the figures are indicative only.** The "
          "full run is `bench/peers/run.sh` on a quiet machine.")
        w("")
    if meta.get("models"):
        w(f"**Only the cases of `PEERS_MODELS={meta['models']}` were run.**")
        w("")
    if meta.get("note"):
        w(f"**Note on this run:** {meta['note']}")
        w("")
    w("Every engine loads the same Hugging Face folder (random-weight "
      "bert-base-uncased-shaped BERT, the real all-MiniLM-L6-v2, a "
      "random-weight XLMRobertaModel with the multilingual-e5-base config "
      "(XLM-R-base: vocabulary 250002, positions after the padding index), "
      "a random-weight MarianMT with the opus-mt-en-de config whose `</s>` "
      "logit is biased down so every engine generates exactly 64 tokens) "
      "and runs the same token ids (BERT rows: [CLS] ... [SEP] by a fixed "
      "formula; XLM-R rows: `<s>`, pseudo-random ids in [3, 250002), "
      "`</s>`; bench/peers/shapes.py). Encoder: real tokens per second of one "
      "forward pass (attnserve: embeddings incl. pooling; peers: last hidden "
      "state). Decoder: generated tokens per second of one generate call "
      "(source 32 tokens, 64 new tokens). Rerank (`minilm-ce`: a "
      "random-weight BertForSequenceClassification with 1 label at "
      "ms-marco-MiniLM-L-6-v2's shape, saved by transformers): 1 query x "
      "100 passages as text, words that are each one token of the bert-base "
      "vocabulary, 64 tokens per pair with [CLS]/[SEP] and token types 0/1, "
      "tokenized inside every timed call, in batches of 32 (attnserve: "
      "`SequenceClassifier` Tokenize + Classify packed, as a Rerank call; "
      "PyTorch: sentence-transformers `CrossEncoder.predict(pairs, "
      "batch_size=32)`; ONNX Runtime: the fast tokenizer + `session.run` for "
      "the logits per batch), then the sigmoid and the order by score; its "
      "tokens/s are pair tokens (pairs/s = tokens/s / 64). Each figure is "
      "the median of the timed calls after one warm-up call.")
    w("")
    w("## Machine and run")
    w("")
    w("|  |  |")
    w("|---|---|")
    w(f"| CPU | {cpu} ({os.cpu_count()} logical CPUs) |")
    w(f"| vector ISA (lscpu flags) | {flags} |")
    w(f"| threads (every engine) | {', '.join(map(str, threads))} |")
    w(f"| load average before / after | {meta.get('load_before', '?')} / "
      f"{meta.get('load_after', '?')} |")
    w(f"| timed calls per case | {meta.get('reps', '?')} (median), after 1 "
      "warm-up |")
    w(f"| OMP_WAIT_POLICY | {meta.get('omp_wait_policy') or 'unset (defaults)'} |")
    w(f"| versions | {', '.join(f'{k} {v}' for k, v in versions.items())} |")
    w(f"| date | {meta.get('date', '?')} |")
    w("")
    w("Thread settings: attnserve `LoadOptions::threads` and OMP_NUM_THREADS; "
      "PyTorch `torch.set_num_threads`; ONNX Runtime `intra_op_num_threads` "
      "(inter-op 1, sequential); CTranslate2 `intra_threads` (inter 1). "
      "ONNX Runtime int8 = `quantize_dynamic(QInt8, per_channel=True)` of "
      "the optimizer's output; fp32+opt = "
      "`optimize_model(model_type='bert')` (XLM-R included).")
    thread_tables(threads, cases, by, rows, w)
    w("")
    w("## Not available here (with the engine's own reason)")
    w("")
    not_available(results, w)
    warnings = [r for r in results if "warning" in r]
    for r in warnings:
        w(f"* warning: {r['engine_name']} {r['precision']} {r['label']}: "
          f"{r['warning']}")
    conversions = os.path.join(run_dir, "conversions.json")
    if os.path.exists(conversions):
        with open(conversions) as f:
            conv = json.load(f)
        fused = {k: v["result"][1] for k, v in conv.items()
                 if k.startswith("onnx-opt/") and "result" in v}
        exporter = {k: v["result"][1] for k, v in conv.items()
                    if k.startswith("onnx/") and "result" in v}
        if fused or exporter:
            w("")
            w("ONNX export / optimizer: " + "; ".join(
                f"{k.split('/')[1]}: {exporter.get(k.replace('onnx-opt', 'onnx'), '?')} "
                f"exporter, fused {', '.join(f'{o} {n}' for o, n in v.items() if n)}"
                for k, v in fused.items()))
    for sub_dir in sorted(glob.glob(run_dir.rstrip("/") + "-*")):
        subset_section(sub_dir, w)
    summary = {"generated_by": "bench/peers/run.sh", "quick": quick,
               "machine": {"cpu": cpu, "isa": flags,
                           "load_before": meta.get("load_before"),
                           "load_after": meta.get("load_after"),
                           "date": meta.get("date"),
                           "omp_wait_policy": meta.get("omp_wait_policy")},
               "threads": threads, "reps": meta.get("reps"),
               "versions": versions, "results": results, "ratios": rows}
    with open(os.path.join(run_dir, "peers.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(sys.argv[1]))
