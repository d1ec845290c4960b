#!/usr/bin/env python3
"""Renders bench/README.md from attnserve-bench JSON (called by bench/run.sh)."""
import argparse
import csv
import json
import os
import re
import sys

DTYPES = {0: "f32", 1: "bf16", 2: "int8"}
MODELS = {0: "MiniLM-L6", 1: "bert-base", 2: "xlm-r-base", 3: "mpnet-base"}


def parse_name(name):
    """'BM_Encoder/model:0/B:1/...' -> ('BM_Encoder', {'model': 0, ...})."""
    parts = name.split("/")
    args = {}
    for p in parts[1:]:
        if ":" in p:
            k, v = p.split(":", 1)
            try:
                args[k] = int(v)
            except ValueError:
                pass
    return parts[0], args


def ms(b):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
    return b["real_time"] * scale


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def machine_section(lscpu_path, loads, wait_policy, context):
    info = {}
    for line in open(lscpu_path):
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    flags = info.get("Flags", "").split()
    isa = [f for f in flags if re.match(r"(avx|fma|amx|avx512)", f) or "vnni" in f or "bf16" in f]
    return table(["", ""], [
        ["CPU", info.get("Model name", "?")],
        ["cores / threads", f"{info.get('CPU(s)', '?')} logical"],
        ["vector ISA (lscpu flags)", " ".join(sorted(isa)) or "none"],
        ["oneDNN", context.get("onednn", "2.6.3 (OpenMP)")],
        ["load average before / after run", " / ".join(loads)],
        ["OMP_WAIT_POLICY", wait_policy],
        ["date", context.get("date", "?")],
    ])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--lscpu")
    ap.add_argument("--load", action="append", default=[])
    ap.add_argument("--omp-wait-policy", default="")
    ap.add_argument("--csv")
    ap.add_argument("--active-json")
    ap.add_argument("--plot", nargs=2)
    ap.add_argument("--arch-json")
    ap.add_argument("--rerank-json")
    ap.add_argument("--rerank-load", default="")
    a = ap.parse_args()
    if a.plot:
        return plot(*a.plot)
    data = json.load(open(a.json))
    benches = [b for b in data["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    ctx = data.get("context", {})
    out = []
    w = out.append
    w(HEADER)
    w("## Machine of this run\n\n")
    w(machine_section(a.lscpu, a.load, a.omp_wait_policy, ctx))

    peaks = {}
    rows = []
    for b in benches:
        kind, args = parse_name(b["name"])
        if kind != "BM_MatmulPeak":
            continue
        dt, th = DTYPES[args["dtype"]], args["threads"]
        if b.get("error_occurred"):
            rows.append([dt, th, "-", "-", "not available: " + b.get("error_message", "")])
            continue
        peaks[(dt, th)] = b["GFLOP/s"]
        rows.append([dt, th, f"{b['GFLOP/s']:.1f}", f"{b.get('cpu_GFLOP/s', 0):.1f}", b.get("label", "")])
    w("\n## oneDNN matmul peak per precision ([2048]^3 through `Linear`, timed inside the primitive)\n\n")
    w(table(["dtype", "threads", "GFLOP/s (wall)", "GFLOP/s per CPU-second", "kernel (impl_info_str + types)"], rows))

    enc = {}
    rows = []
    for b in benches:
        kind, args = parse_name(b["name"])
        if kind != "BM_Encoder":
            continue
        key = (MODELS[args["model"]], args["B"], args["T"], DTYPES[args["dtype"]], args["threads"])
        if b.get("error_occurred"):
            rows.append([key[0], f"{key[1]}x{key[2]}", key[3], key[4], "-", "-", "-", "-", "-", "-", "-",
                         "not available: " + b.get("error_message", "")[:90]])
            continue
        enc[key] = b
        kernel = b.get("label", "").split(" ", 2)[-1]
        rows.append([key[0], f"{key[1]}x{key[2]}", key[3], key[4], f"{ms(b):.2f}",
                     f"{b['tokens/s']:.0f}", f"{b['GFLOP/s']:.1f}",
                     f"{100 * b['peak_frac']:.0f}%", f"{b['tokens/cpu_s']:.0f}",
                     f"{100 * b['cpu_peak_frac']:.0f}%", f"{100 * b['non_matmul']:.0f}%", kernel])
    w("\n## Encoder per precision (random weights, real shapes)\n\n")
    w("`peak` = the matmul peak of the same precision and thread count from this run; "
      "`outside matmul` = wall time not spent in oneDNN matmul primitives. The CPU-time columns divide by "
      "the process CPU time instead of the wall time: on a shared machine they show the work per core "
      "independent of how long other processes held it (for 2 threads they include OpenMP spinning).\n\n")
    w(table(["model", "BxT", "dtype", "threads", "ms/batch", "tokens/s", "GFLOP/s",
             "% of peak", "tokens/CPU-s", "% of peak (CPU time)", "outside matmul", "FFN kernel"], rows))

    rows = []
    for (m, bb, t, dt, th), b in sorted(enc.items()):
        if th != 1 or (m, bb, t, dt, 2) not in enc:
            continue
        two = enc[(m, bb, t, dt, 2)]
        rows.append([m, f"{bb}x{t}", dt, f"{b['tokens/s']:.0f}", f"{two['tokens/s']:.0f}",
                     f"{two['tokens/s'] / b['tokens/s']:.2f}x"])
    w("\n## Thread scaling (tokens/s, 1 vs 2 compute threads)\n\n")
    w(table(["model", "BxT", "dtype", "1 thread", "2 threads", "speed-up"], rows))

    if a.active_json:
        rows = []
        for b in json.load(open(a.active_json))["benchmarks"]:
            kind, args = parse_name(b["name"])
            key = (MODELS[args["model"]], args["B"], args["T"], DTYPES[args["dtype"]], args["threads"])
            if b.get("error_occurred") or key not in enc:
                continue
            p = enc[key]
            rows.append([key[0], f"{key[1]}x{key[2]}", key[3], key[4], f"{ms(b):.1f}", f"{ms(p):.1f}",
                         f"{ms(b) / ms(p):.1f}x"])
        w("\n## OpenMP wait policy (ms per batch; PASSIVE = futex sleep at every barrier)\n\n")
        w(table(["model", "BxT", "dtype", "threads", "PASSIVE ms", f"{a.omp_wait_policy} ms",
                 "PASSIVE / this run's"], rows))

    rows = []
    for (m, bb, t, dt, th), b in sorted(enc.items()):
        if dt != "f32" or (m, bb, t, "int8", th) not in enc:
            continue
        q = enc[(m, bb, t, "int8", th)]
        rows.append([m, f"{bb}x{t}", th, f"{b['tokens/s']:.0f}", f"{q['tokens/s']:.0f}",
                     f"{q['tokens/s'] / b['tokens/s']:.2f}x",
                     f"{q['tokens/cpu_s'] / b['tokens/cpu_s']:.2f}x"])
    w("\n## int8 vs f32 (tokens/s)\n\n")
    w(table(["model", "BxT", "threads", "f32", "int8", "int8 speed-up (wall)", "int8 speed-up (CPU time)"], rows))

    if a.arch_json:
        architectures_section(a.arch_json, w)
    if a.rerank_json:
        rerank_section(a.rerank_json, a.rerank_load, w)

    sweep = {}
    for b in benches:
        kind, args = parse_name(b["name"])
        if kind == "BM_EncoderBatchSweep" and not b.get("error_occurred"):
            sweep.setdefault(args["B"], {})[DTYPES[args["dtype"]]] = b
    rows, csv_rows = [], []
    for bb in sorted(sweep):
        f, q = sweep[bb].get("f32"), sweep[bb].get("int8")
        cell = lambda x, k: (f"{ms(x):.2f}" if k == "ms" else f"{x['tokens/s']:.0f}") if x else "-"
        rows.append([bb, cell(f, "ms"), cell(f, "tok"), cell(q, "ms"), cell(q, "tok")])
        if f and q:
            csv_rows.append([bb, f["tokens/s"], ms(f), q["tokens/s"], ms(q)])
    w("\n## Batch size vs latency / throughput (MiniLM-L6, 32 tokens per text, 1 thread)\n\n")
    w(table(["batch", "f32 ms", "f32 tokens/s", "int8 ms", "int8 tokens/s"], rows))
    if a.csv:
        with open(a.csv, "w", newline="") as fh:
            csv.writer(fh).writerows(csv_rows)

    rag = {}
    for b in benches:
        kind, args = parse_name(b["name"])
        if kind in ("BM_EncoderRagged", "BM_EncoderUniformOfRagged",
                    "BM_EncoderRaggedOverUniform") and not b.get("error_occurred"):
            rag[(kind, DTYPES[args["dtype"]], args["threads"])] = b
    rows = []
    for (kind, dt, th), b in sorted(rag.items()):
        if kind != "BM_EncoderRagged":
            continue
        u = rag.get(("BM_EncoderUniformOfRagged", dt, th))
        p = rag.get(("BM_EncoderRaggedOverUniform", dt, th))
        rows.append([dt, th, f"{ms(b):.1f}", f"{b['tokens/s']:.0f}", f"{100 * b['pad_avoided']:.0f}%" if "pad_avoided" in b else "-",
                     f"{ms(u):.1f}" if u else "-", f"{u['tokens/s']:.0f}" if u else "-",
                     f"{b['tokens/s'] / u['tokens/s']:.2f}" if u else "-",
                     f"{p['ratio']:.2f} ({p['cpu_ratio']:.2f})" if p else "-"])
    w("\n## Ragged vs uniform batch (MiniLM-L6, 32 texts, log-normal 4-128 tokens, packed without padding)\n\n")
    w("tokens/s counts real tokens only; the uniform batch has the same real tokens at the mean length. "
      "Both run the packed encoder SentenceEncoder::Embed uses; 'padding avoided' is the share of "
      "the ragged batch that padding to its longest text would add. 'paired' is "
      "BM_EncoderRaggedOverUniform: both batches alternating in one loop, so a drifting machine "
      "load hits both alike (wall-time ratio, per-CPU-second ratio in parentheses).\n\n")
    w(table(["dtype", "threads", "ragged ms", "ragged tokens/s", "padding avoided", "uniform ms",
             "uniform tokens/s", "ragged / uniform", "paired ragged / uniform"], rows))

    decoder_section(benches, w)
    targets_section(enc, rag, benches, w)
    w(FOOTER)
    sys.stdout.write("".join(out))


def rerank_section(path, load, w):
    """BM_Rerank rows: a cross-encoder reranking 1 query x 100 passages."""
    data = json.load(open(path))
    found = {}
    for b in data["benchmarks"]:
        kind, args = parse_name(b["name"])
        if kind == "BM_Rerank" and b.get("run_type", "iteration") == "iteration":
            found[(args["model"], args["threads"], args["dtype"])] = b
    if not found:
        return
    rows = []
    for (model, th, dt), b in sorted(found.items()):
        name = {0: "MiniLM-L6 (ms-marco-MiniLM-L-6-v2's shape)",
                1: "bert-base (bge-reranker-base's compute shape)"}.get(model, MODELS[model])
        if b.get("error_occurred"):
            rows.append([name, DTYPES[dt], th, "-", "-", "-", "-", "-", "-", "-",
                         "not available: " + b.get("error_message", "")[:90]])
            continue
        f32 = found.get((model, th, 0))
        vs = (f"{b['pairs/s'] / f32['pairs/s']:.2f}"
              if f32 and "pairs/s" in f32 and dt != 0 else "-")
        rows.append([name, DTYPES[dt], th, f"{ms(b):.0f}", f"{b['pairs/s']:.1f}",
                     f"{b['tokens/s']:.0f}", f"{100 * b['peak_frac']:.0f}%", vs,
                     f"{100 * b['tokenize_frac']:.1f}%",
                     f"{b['pairs/cpu_s']:.1f}" if "pairs/cpu_s" in b else "-",
                     f"{b['cpu_per_wall']:.2f}" if "cpu_per_wall" in b else "-"])
    date = data.get("context", {}).get("date", "?")
    w("\n## Rerank (1 query × 100 passages, ~64 tokens)\n\n")
    w(f"`BM_Rerank` rows of one run ({date}, `{os.path.basename(path)}`"
      + (f", load average before / after: {load}" if load else "") + "): a "
      "random-weight `BertForSequenceClassification` (1 label) loaded through "
      "`SequenceClassifier::Load` and run as a Rerank call runs: the 100 (query, "
      "passage) pairs tokenized (`[CLS] query [SEP] passage [SEP]`, token types "
      "0 then 1: 9 + 55 = 64 tokens per pair), `Classify` in batches of 32 (the "
      "server's default `max_batch_size`; 32 x 64 tokens is under the default "
      "`max_batch_tokens` 8192; packed without padding), the sigmoid of "
      "each logit, the order by score. `% of peak` = matmul GFLOP/s over the "
      "oneDNN matmul peak of the same precision and threads measured right after "
      "the row; `vs f32` = pairs/s over the f32 row's; `tokenize` = the share of "
      "the call spent tokenizing; `pairs/CPU-s` divides by the process CPU time "
      "(all threads) and `CPU/wall` below the thread count means other processes "
      "held the cores (then read `pairs/CPU-s` and the ratios). The same case against sentence-transformers' "
      "`CrossEncoder` and ONNX Runtime is in [peers/README.md](peers/README.md) "
      "(`minilm-ce`).\n\n")
    w(table(["model", "dtype", "threads", "ms/call", "pairs/s", "tokens/s",
             "% of peak", "vs f32", "tokenize", "pairs/CPU-s", "CPU/wall"], rows))


def architectures_section(path, w):
    """xlm-r-base and mpnet-base rows against bert-base rows of the same run."""
    data = json.load(open(path))
    rows_by_key = {}
    for b in data["benchmarks"]:
        kind, args = parse_name(b["name"])
        if kind != "BM_Encoder" or b.get("error_occurred") or args["model"] not in (1, 2, 3):
            continue
        rows_by_key[(MODELS[args["model"]], args["B"], args["T"], DTYPES[args["dtype"]],
                     args["threads"])] = b
    rows = []
    for (m, bb, t, dt, th), b in sorted(rows_by_key.items()):
        base = rows_by_key.get(("bert-base", bb, t, dt, th))
        if m == "bert-base" or base is None:
            continue
        rows.append([m, f"{bb}x{t}", dt, th, f"{b['tokens/s']:.0f}", f"{base['tokens/s']:.0f}",
                     f"{b['tokens/s'] / base['tokens/s']:.2f}", f"{100 * b['peak_frac']:.0f}%",
                     f"{100 * base['peak_frac']:.0f}%", f"{100 * b['non_matmul']:.0f}%",
                     b.get("label", "").split(" ", 2)[-1]])
    if not rows:
        return
    date = data.get("context", {}).get("date", "?")
    w("\n## Encoder architectures at bert-base's shape (XLM-R-base, MPNet-base)\n\n")
    w(f"`attnserve-bench` rows of one run ({date}, `{os.path.basename(path)}`): the same matmul "
      "work as bert-base (hidden 768, 12 layers, FFN 3072), plus what the architecture adds: "
      "XLM-R's 250k-row embedding table and positions after the padding index, MPNet's "
      "relative-position bias added to every layer's scores. `vs bert-base` = tokens/s over "
      "bert-base's in the same run (1.00 = the same fraction of the matmul peak); the `% of peak` "
      "columns divide by a peak measured right after each row and are noisier.\n\n")
    w(table(["model", "BxT", "dtype", "threads", "tokens/s", "bert-base tokens/s", "vs bert-base",
             "% of peak", "bert-base % of peak", "outside matmul", "FFN kernel"], rows))


def targets_section(enc, rag, benches, w):
    """Issue #11's core targets, each with its measured value from this run (2 threads)."""
    rows = []

    def verdict(value, goal, above=True):
        if value is None:
            return "not measured"
        return "met" if (value >= goal if above else value < goal) else "missed"

    def enc_row(what, model, bb, t, dt, key, goal, th=2):
        b = enc.get((model, bb, t, dt, th))
        v = b.get(key) if b else None
        kernel = b.get("label", "").split(" ", 2)[-1] if b else "-"
        extra = ""
        if b and key == "roofline_frac":
            extra = " (weight-read bound)" if b.get("bw_bound") else " (FLOP bound)"
        rows.append([what, f"{model} {bb}x{t}, {dt}, {th} thr",
                     "-" if v is None else f"{100 * v:.0f}%{extra}", f">= {100 * goal:.0f}%",
                     verdict(v, goal), kernel])

    for bb, t in ((32, 128), (8, 64)):
        enc_row("encoder f32, % of f32 peak", "bert-base", bb, t, "f32", "peak_frac", 0.90)
    enc_row("encoder f32, % of f32 peak", "MiniLM-L6", 32, 128, "f32", "peak_frac", 0.80)
    for model in ("MiniLM-L6", "bert-base"):
        for t in (16, 128):
            enc_row("encoder f32, % of roofline", model, 1, t, "f32", "roofline_frac", 0.70)
    for bb, t in ((32, 128), (8, 64)):
        enc_row("encoder bf16, % of bf16 peak", "bert-base", bb, t, "bf16", "peak_frac", 0.65)
    enc_row("encoder int8, % of int8 peak", "bert-base", 32, 128, "int8", "peak_frac", 0.40)
    for dt in ("f32", "bf16", "int8"):
        p = rag.get(("BM_EncoderRaggedOverUniform", dt, 2))
        if p:
            rows.append(["ragged / uniform real tokens/s", f"MiniLM-L6 32 texts, {dt}, 2 thr",
                         f"{p['ratio']:.2f}", ">= 0.90", verdict(p["ratio"], 0.90), "-"])
    for b in benches:
        kind, args = parse_name(b["name"])
        if kind != "BM_Translate" or b.get("error_occurred"):
            continue
        dt = DTYPES.get(args.get("dtype"), "?")
        case = ("greedy" if args.get("beam") == 1 else f"beam {args.get('beam')}") + f" batch {args.get('B')}"
        if "bound_frac" in b:
            rows.append(["decoder greedy b1, % of weight-read bound", f"opus-mt shape, {dt}",
                         f"{100 * b['bound_frac']:.0f}%", ">= 70%", verdict(b["bound_frac"], 0.70),
                         b.get("label", "")])
        rows.append(["decoder per-step overhead", f"opus-mt shape, {dt}, {case}",
                     f"{100 * b['overhead_frac']:.0f}%", "< 10%",
                     verdict(b["overhead_frac"], 0.10, above=False), b.get("label", "")])
    w("\n## Targets (issue #11) as measured in this run\n\n")
    w("Each figure is a ratio to a limit measured by the same binary in the same run for the same "
      "precision (matmul peak, read bandwidth). Accuracy targets are tests, not benchmarks: "
      "`precision_test` (MiniLM int8 cosine >= 0.99 and retrieval ranking, bf16 cosine >= 0.999 on "
      "the 310 reference texts and the golden texts) and `marian_int8_test` (int8 and bf16 greedy "
      "identical to f32 on >= 95% of the demo model's 1000 held-out sentences). Serving, memory "
      "and start-up targets are in the serving sections below; the peers in "
      "`bench/peers/README.md`.\n\n")
    w(table(["target", "case", "measured", "goal", "", "kernel"], rows))


def decoder_section(benches, w):
    """Marian decoder per precision: greedy batch 1 against the memory-bandwidth bound,
    batch 16 / beam 4 against the precision's matmul peak, per-step shares."""
    rows, missing = [], {}
    for b in benches:
        kind, args = parse_name(b["name"])
        if kind != "BM_Translate":
            continue
        dt = DTYPES.get(args.get("dtype"), "?")
        case = ("greedy" if args.get("beam") == 1 else f"beam {args.get('beam')}") + f", batch {args.get('B')}"
        if b.get("error_occurred"):
            missing[dt] = b.get("error_message", "error")
            continue
        pct = lambda k: f"{100 * b[k]:.0f}%" if k in b else "-"
        if "bound_frac" in b:
            limit = (f"{pct('bound_frac')} of bound ({b['bound_step_ms']:.1f} ms/step = "
                     f"{b['weightMB/step']:.0f} MB / {b['readGB/s']:.1f} GB/s read)")
        else:
            limit = f"{b['GFLOP/s']:.1f} GFLOP/s = {pct('peak_frac')} of peak {b['peak_GFLOP/s']:.0f}"
        rows.append([dt, case, f"{ms(b):.0f}", f"{b['step_ms']:.1f}", f"{b['tokens/s']:.1f}", limit,
                     pct("linear_frac"), pct("attention_frac"), pct("model_other_frac"),
                     pct("overhead_frac"), f"{b.get('cpu_per_wall', 0):.2f}"])
    if not rows and not missing:
        return
    w("\n## Marian decoder (opus-mt-en-de shape, random weights, source 32, 64 new tokens)\n\n")
    w("Limits are measured in the same run next to each case: greedy batch 1 against the time to "
      "read the decoder's weights once per step (bytes in the precision's storage, int8 incl. "
      "per-channel scales; read bandwidth of a buffer of that size with the model's threads); "
      "batch 16 and beam 4 as useful GFLOP/s (real rows, encoder included) over the precision's "
      "oneDNN matmul peak. Step shares: Linear (matmuls incl. int8 quantization), attention (KV "
      "append + per-row attention), the rest of the decoder (embeddings, LayerNorm) and the "
      "overhead outside the model (logits rules, argmax / top-k, beam bookkeeping, KV-cache "
      "reorder, allocation). `CPU/wall` below 1 per thread means other processes held the "
      "cores.\n\n")
    w(table(["dtype", "case", "ms", "ms/step", "tokens/s", "limit", "Linear", "attention",
             "rest of step", "overhead", "CPU/wall"], rows))
    for dt, why in sorted(missing.items()):
        w(f"\n{dt}: {why}\n")
    w("\nLogits: one [rows, vocab] f32 buffer per step, reused; greedy takes the argmax and the "
      "log-sum-exp in place (no log-softmax copy), beam search keeps a streaming top-2·beams "
      "per sequence (no sort of beams x vocab). Decoder weights are packed once for oneDNN's "
      "kernels; on AVX2 CPUs without VNNI, int8 rows (1-4 per matmul) use an AVX2 u8 x s8 "
      "matrix-vector kernel instead (oneDNN 2.6's int8 gemm there repacks the weight on every "
      "call).\n")


def plot(csv_path, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [list(map(float, r)) for r in csv.reader(open(csv_path))]
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot([r[0] for r in rows], [r[1] for r in rows], "o-", label="f32 tokens/s")
    ax.plot([r[0] for r in rows], [r[3] for r in rows], "o-", label="int8 tokens/s")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size (32 tokens)")
    ax.set_ylabel("tokens/s")
    ax.legend()
    fig.savefig(png)


HEADER = """# attnserve benchmarks

Generated by `bench/run.sh` (do not edit by hand: it runs `attnserve-bench
--benchmark_format=json` and renders these tables with `bench/render_readme.py`).
The machines this runs on are shared: absolute times move with the load, so
read the ratios (to the matmul peak measured in the same run, int8/f32, 2/1
threads), not the milliseconds.

## Threads: what to set when serving

* oneDNN runs on OpenMP. The thread count is per calling thread: a model uses
  `LoadOptions::threads` (applied with `omp_set_num_threads` in the thread that
  runs it, before every primitive); 0 keeps the process default
  (`OMP_NUM_THREADS`, else all cores).
* attnserve-server runs every model's primitives on one compute thread
  (`core/ops/compute_thread.h`), so the process has one OpenMP team whatever
  the number of models. libgomp keeps a team for every thread that ever
  started a parallel region; once teams outnumber the cores it caps every
  team's spin at 100 iterations and wakes sleeping threads by futex at each
  region (measured: MiniLM 1x15 f32, 2 threads, 6.4 ms per call instead of
  2.0 ms after one Translate call had made the translator's team).
* attnserve-server starts with `GOMP_SPINCOUNT=100000` (about 1 ms) unless
  `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT` is set: with a single team a long spin
  starves no other team, and it keeps the team awake across the serial gaps
  of a forward and between an interactive client's calls;
  `OMP_WAIT_POLICY=PASSIVE` pays a futex wake of an idle CPU at every barrier
  (see the wait-policy table).
* A transformer encoder at small batches is a sequence of ~10 small primitives
  per layer; each one is a parallel region, so 1 thread per worker and several
  workers usually beat 1 worker with all threads for small requests; large
  batches scale with threads (see the scaling table).

"""

FOOTER = """
## What limits each precision

* **Weights are packed once**: every Linear asks oneDNN for its preferred
  weight layout (`format_tag::any`) and reorders the weight once at load
  (`core/ops/packed_weight.h`). oneDNN's brgemm kernels (AVX-512, AMX) would
  otherwise re-pack a plain weight on every call: 2.3-2.4x slower at 16 rows
  in bf16 and u8s8, 9x at one row in bf16.
* **f32**: oneDNN's brgemm (AVX-512) or gemm (AVX2) kernels; large batches
  approach the [2048]^3 peak. At one short text (1x16) the forward is bound by
  reading the weights and by ~10 primitives per layer, each a parallel region
  whose threads must wake (see the wait-policy table).
* **bf16**: needs AVX-512 BF16 or AMX (refused at load elsewhere, with the
  reason). Weights bf16, activations converted by a oneDNN reorder before each
  matmul, f32 accumulation; LayerNorm, softmax, attention and residuals stay
  f32, which is the `outside matmul` share.
* **int8**: s8 weights per output channel, u8 activations with a scale and
  zero point per token (a per-tensor scale lost too much on the real MiniLM).
  oneDNN 2.6 has no per-row scale on its optimised int8 matmul, so the integer
  products go to f32 and one epilogue pass (SIMD, rows shared by the model's
  threads) applies the scales, zero-point correction, bias and residual. The
  FFN output projection (its GELU input has outlier features) runs in bf16
  where the CPU has it, else f32. Without VNNI oneDNN's u8 x s8 kernel sums
  pairs in a saturating int16, so weights are limited to +-63 there.
* **Ragged batches** are not padded: texts are sorted by length and their real
  tokens packed into one matrix for every projection, FFN and LayerNorm;
  self-attention runs per group of equal-length texts (no mask).
"""

if __name__ == "__main__":
    main()
