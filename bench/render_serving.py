"""Markdown sections and PNG plots of the serving benchmark (bench/serving.sh).

    render_serving.py [--json bench/last_run/serving.json] [--png P ...]
                                                   markdown to stdout
    render_serving.py --plot-sweep SWEEP.csv OUT_DIR          batch_sweep_<dtype>.png
    render_serving.py --plot-threads BENCH.json OUT.png       1 vs 2 threads

The markdown is appended to bench/README.md by bench/run.sh after the tables
of bench/render_readme.py. The plots need matplotlib (bench/bench_venv.sh).
"""
import argparse
import json
import re
import sys

MB = 1e6
RSS_FACTOR, RSS_SLACK_MB = 1.25, 150
OVERHEAD_TARGET, HALF_LOAD_TARGET = 0.90, 2.0
# Start-up targets (seconds) of the BERT-base-size model, by precision.
STARTUP_TARGET = {("bert-base", "float32"): 2.0, ("bert-base", "int8"): 5.0}


def fmt(x, digits=1):
    return f"{x:.{digits}f}" if isinstance(x, (int, float)) else "-"


def verdict(ok):
    return "-" if ok is None else ("met" if ok else "**missed**")


def delta(case, before, after, name):
    """Mean of histogram `name` between two /metrics scrapes."""
    b, a = case.get(before) or {}, case.get(after) or {}
    n = a.get(f"{name}_count", 0) - b.get(f"{name}_count", 0)
    s = a.get(f"{name}_sum", 0) - b.get(f"{name}_sum", 0)
    return s / n if n > 0 else None


def served(doc):
    return [c for c in doc["cases"] if not c.get("error")]


def header(doc):
    return [
        "## Serving: gRPC vs in process (`bench/serving.sh`)",
        "",
        f"attnserve-server on 127.0.0.1 with `--threads={doc.get('threads')}` "
        f"and `max_batch_size: {doc.get('max_batch_size')}`, driven by "
        f"attnserve-loadgen with {doc.get('concurrency')} concurrent clients "
        "sending one text per Encode call (the same text every time: "
        f"\"{doc.get('text')}\"). The in-process reference runs "
        "`SentenceEncoder::Embed` on batches of that text with the same "
        "model folder, precision, compute threads and batch size "
        "(`BM_InprocessEncode`, bench/inprocess_encode_bench.cc)."
        + (" **Quick run** (`SERVING_QUICK=1`: short phases, rough figures)."
           if str(doc.get("quick")) == "1" else ""),
        "",
        f"Load average before / after: {doc.get('load_before')} / "
        f"{doc.get('load_after')} ({doc.get('nproc')} logical CPUs), "
        f"{doc.get('date')}.",
        "",
    ]


def overhead_section(doc):
    lines = [
        "### Serving overhead (closed loop, saturation)",
        "",
        f"Target: gRPC texts/s >= {OVERHEAD_TARGET:.0%} of in-process "
        "texts/s at the server's max batch size, every precision. `batch "
        "formed` = mean texts per batch the server's batcher ran (its "
        "/metrics): with as many closed-loop clients as the max batch size, "
        "the clients split into two groups that alternate (one computes "
        "while the other's texts queue), so batches hold about half; the "
        "in-process figure at half the batch size is shown for that reason.",
        "",
        f"| model | dtype | gRPC texts/s | p50 ms | p99 ms | batch formed | "
        f"in-process texts/s (B={doc.get('max_batch_size')}) | in-process "
        f"B={(doc.get('max_batch_size') or 0) // 2} | tokens/text | ratio | "
        "target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in served(doc):
        sat = c.get("saturation") or {}
        tput = (sat.get("throughput") or {}).get("texts_per_s")
        lat = sat.get("latency") or {}
        ref = c.get("inprocess") or {}
        ref_tput = ref.get("texts_per_s")
        ratio = tput / ref_tput if tput and ref_tput else None
        formed = delta(c, "metrics_before_sat", "metrics_after_sat",
                       "attnserve_batch_size")
        lines.append(
            f"| {c['model']} | {c['dtype']} | {fmt(tput)} | "
            f"{fmt(lat.get('p50_ms'))} | {fmt(lat.get('p99_ms'))} | "
            f"{fmt(formed)} | {fmt(ref_tput)} | "
            f"{fmt((ref.get('half_batch') or {}).get('texts_per_s'))} | "
            f"{fmt(ref.get('tokens_per_text'), 0)} | {fmt(ratio, 2)} | "
            f"{verdict(None if ratio is None else ratio >= OVERHEAD_TARGET)} |")
    return lines + [""]


def where_time_goes_section(doc):
    """Load-independent view of the same saturation runs: CPU time per text
    (server process vs in-process benchmark) and how busy the batcher's
    worker was."""
    lines = [
        "Where the time goes (same runs). `worker busy` = the batcher's "
        "compute seconds / the run's wall time (below 100%: the worker "
        "waited for texts). `compute ms/text` = the server's compute "
        "seconds per text, next to the in-process wall ms/text at the same "
        "batch sizes. `CPU ms/text` = CPU time (all threads) per text of the "
        "server process (gRPC, batching, tokenization included) and of the "
        "in-process benchmark at the max batch size: unlike the wall-time "
        "ratio it does not move with other processes' load; `CPU ratio` = "
        "in-process / server.",
        "",
        "| model | dtype | worker busy | compute ms/text | in-process ms/text "
        "(B max / half) | server CPU ms/text | in-process CPU ms/text | CPU "
        "ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    batch = doc.get("max_batch_size") or 1
    for c in served(doc):
        sat = c.get("saturation") or {}
        b, a = c.get("metrics_before_sat") or {}, c.get("metrics_after_sat") or {}
        compute = (a.get("attnserve_compute_seconds_sum", 0)
                   - b.get("attnserve_compute_seconds_sum", 0))
        texts = (a.get("attnserve_batch_size_sum", 0)
                 - b.get("attnserve_batch_size_sum", 0))
        elapsed = sat.get("elapsed_s")
        busy = compute / elapsed if elapsed else None
        ref = c.get("inprocess") or {}
        half = ref.get("half_batch") or {}
        ms_max = (ref["ms_per_batch"] / batch
                  if ref.get("ms_per_batch") else None)
        ms_half = (half["ms_per_batch"] / half["batch"]
                   if half.get("ms_per_batch") else None)
        cpu_ref = (ref["cpu_ms_per_batch"] / batch
                   if ref.get("cpu_ms_per_batch") else None)
        cpu_srv = (1000 * c["sat_cpu_s"] / sat["texts"]
                   if isinstance(c.get("sat_cpu_s"), (int, float))
                   and sat.get("texts") else None)
        lines.append(
            f"| {c['model']} | {c['dtype']} | "
            f"{'-' if busy is None else f'{busy:.0%}'} | "
            f"{fmt(1000 * compute / texts if texts else None)} | "
            f"{fmt(ms_max)} / {fmt(ms_half)} | {fmt(cpu_srv)} | "
            f"{fmt(cpu_ref)} | "
            f"{fmt(cpu_ref / cpu_srv if cpu_ref and cpu_srv else None, 2)} |")
    return lines + [""]


def half_load_section(doc):
    lines = [
        "### Latency at half the saturation rate (open loop)",
        "",
        f"Target: p99 <= {HALF_LOAD_TARGET:.0f} x p50. Calls start on a fixed "
        "schedule at half the texts/s measured above; latency counts from "
        "the scheduled start.",
        "",
        "| model | dtype | rate /s | achieved /s | p50 ms | p99 ms | "
        "p99 / p50 | batch formed | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in served(doc):
        half = c.get("half") or {}
        lat = half.get("latency") or {}
        p50, p99 = lat.get("p50_ms"), lat.get("p99_ms")
        ratio = p99 / p50 if p50 and p99 else None
        formed = delta(c, "metrics_after_sat", "metrics_after_half",
                       "attnserve_batch_size")
        lines.append(
            f"| {c['model']} | {c['dtype']} | {fmt(c.get('half_rate'))} | "
            f"{fmt((half.get('throughput') or {}).get('ok_per_s'))} | "
            f"{fmt(p50)} | {fmt(p99)} | {fmt(ratio, 2)} | {fmt(formed)} | "
            f"{verdict(None if ratio is None else ratio <= HALF_LOAD_TARGET)} |")
    return lines + [""]


def mapped(case):
    if case.get("dtype") != "float32":
        return "n/a"
    file_bytes = (case.get("rss_file_kib") or 0) * 1024
    if file_bytes >= 0.5 * (case.get("weight_bytes") or 0):
        return "yes"
    return "**no** (copied into RssAnon)"


def memory_section(doc):
    lines = [
        "### Memory under load",
        "",
        f"Target: resident memory <= weight bytes x {RSS_FACTOR} + "
        f"{RSS_SLACK_MB} MB. Weight bytes = what the model holds after "
        "conversion (f32; int8: s8 matmul weights + per-channel scales, the "
        "rest f32), from the safetensors header. `max VmRSS` = the most "
        "sampled (every 0.2 s) during the saturation run: the figure the "
        "target is checked on. `VmHWM` = the peak since exec, start-up "
        "included. RssAnon / RssFile split the resident memory at the end "
        "of the load (file-backed pages are those of a memory-mapped file).",
        "",
        "`weights mapped` = the resident file-backed pages cover at least "
        "half the f32 weight bytes (float32 only: int8 converts, so its "
        "weights are anonymous memory by construction).",
        "",
        "| model | dtype | safetensors MB | weight MB | max VmRSS MB | VmHWM "
        "MB | RssAnon MB | RssFile MB | weights mapped | bound MB | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in served(doc):
        w = c.get("weight_bytes") or 0
        bound = w * RSS_FACTOR / MB + RSS_SLACK_MB
        rss = (c.get("rss_max_kib") or 0) * 1024 / MB
        lines.append(
            f"| {c['model']} | {c['dtype']} | "
            f"{fmt((c.get('file_bytes') or 0) / MB, 0)} | {fmt(w / MB, 0)} | "
            f"{fmt(rss, 0)} | {fmt((c.get('rss_hwm_kib') or 0) * 1024 / MB, 0)}"
            f" | {fmt((c.get('rss_anon_kib') or 0) * 1024 / MB, 0)} | "
            f"{fmt((c.get('rss_file_kib') or 0) * 1024 / MB, 0)} | "
            f"{mapped(c)} | "
            f"{fmt(bound, 0)} | {verdict(None if not rss else rss <= bound)} |")
    return lines + [""]


def startup_section(doc):
    lines = [
        "### Start-up (exec to health SERVING)",
        "",
        "From the server's exec to its \"SERVING\" log line (written right "
        "after health turns SERVING; confirmed by a gRPC health check). The "
        "model file is in the page cache (it was just written or read). "
        "`CPU s` = user + system CPU time of the server until then: on a "
        "shared machine the wall time also counts the time other processes "
        "held the cores, which `run-queue wait s` measures (the server's "
        "threads runnable but not running, summed over threads; "
        "/proc/<pid>/task/*/schedstat). Targets (BERT-base size, wall time): "
        "float32 < 2 s, int8 (conversion at load) < 5 s.",
        "",
        "| model | dtype | seconds | CPU s | run-queue wait s | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in doc["cases"]:
        if "dtype" not in c:
            continue
        target = STARTUP_TARGET.get((c["model"], c["dtype"]))
        s = c.get("startup_s")
        ok = None if target is None or s is None else s < target
        lines.append(
            f"| {c['model']} | {c['dtype']} | {fmt(s, 2)} | "
            f"{fmt(c.get('startup_cpu_s'), 2)} | "
            f"{fmt(c.get('startup_runq_s'), 2)} | "
            f"{'-' if target is None else f'< {target:.0f} s'} | "
            f"{verdict(ok) if not c.get('error') else 'not served'} |")
    return lines + [""]


def errors_section(doc):
    failed = [c for c in doc["cases"] if c.get("error")]
    if not failed:
        return []
    lines = ["### Not served", ""]
    for c in failed:
        lines.append(f"* {c['model']} {c.get('dtype', '')}: {c['error']}")
    return lines + [""]


def plots_section(pngs):
    """Links to the PNGs (paths relative to bench/README.md)."""
    if not pngs:
        return []
    lines = ["## Plots", "",
             "Drawn by `bench/render_serving.py` from this run's batch sweep "
             "(the table above) and thread-scaling cases.", ""]
    for png in pngs:
        lines += [f"![{png}]({png})", ""]
    return lines


def render(doc, pngs=()):
    out = plots_section(list(pngs))
    if doc is None:
        return "\n".join(out)
    out += header(doc)
    for section in (overhead_section, where_time_goes_section,
                    half_load_section, memory_section,
                    startup_section, errors_section):
        out += section(doc)
    return "\n".join(out)


def plot_sweep(csv_path, out_dir):
    """One PNG per precision: tokens/s and ms per batch against batch size
    (the columns of render_readme.py's sweep.csv: B, f32 tokens/s, f32 ms,
    int8 tokens/s, int8 ms)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [[float(x) if x else None for x in line.strip().split(",")]
            for line in open(csv_path) if line.strip()]
    paths = []
    for name, col in (("f32", 1), ("int8", 3)):
        pts = [(r[0], r[col], r[col + 1]) for r in rows
               if r[col] is not None and r[col + 1] is not None]
        if not pts:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-",
                color="tab:blue", label="tokens/s")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size (texts of 32 tokens)")
        ax.set_ylabel("tokens/s", color="tab:blue")
        ax.set_ylim(bottom=0)
        ax2 = ax.twinx()
        ax2.plot([p[0] for p in pts], [p[2] for p in pts], "s--",
                 color="tab:red", label="ms per batch")
        ax2.set_ylabel("ms per batch (latency)", color="tab:red")
        ax2.set_ylim(bottom=0)
        ax.set_title(f"MiniLM-L6 {name}, 1 thread: batch size vs "
                     "throughput and latency")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        path = f"{out_dir}/batch_sweep_{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_threads(bench_json, png):
    """Grouped bars: tokens/s with 1 and 2 threads per encoder case."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models, dtypes = {"0": "MiniLM", "1": "bert-base"}, {"0": "f32", "2": "int8"}
    cases = {}
    for b in json.load(open(bench_json))["benchmarks"]:
        m = re.match(r"BM_Encoder/model:(\d)/B:(\d+)/T:(\d+)/dtype:(\d)/"
                     r"threads:(\d)", b["name"])
        if not m or not b.get("tokens/s") or m.group(4) not in dtypes:
            continue
        label = (f"{models[m.group(1)]} {m.group(2)}x{m.group(3)} "
                 f"{dtypes[m.group(4)]}")
        cases.setdefault(label, {})[m.group(5)] = b["tokens/s"]
    labels = [k for k, v in cases.items() if "1" in v and "2" in v]
    if not labels:
        return None
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(max(8, len(labels) * 0.8), 7),
                                  sharex=True)
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], [cases[k]["1"] for k in labels], 0.4,
           label="1 thread")
    ax.bar([i + 0.2 for i in x], [cases[k]["2"] for k in labels], 0.4,
           label="2 threads")
    ax.set_yscale("log")
    ax.set_ylabel("tokens/s (log)")
    ax.set_title("Encoder throughput, 1 vs 2 compute threads (batch x tokens)")
    ax.legend()
    ax2.bar(list(x), [cases[k]["2"] / cases[k]["1"] for k in labels], 0.5,
            color="tab:green")
    ax2.axhline(1.0, color="black", linewidth=0.8)
    ax2.set_ylabel("speed-up 2 / 1 threads")
    ax2.set_xticks(list(x))
    ax2.set_xticklabels(labels, fontsize=8, rotation=30, ha="right")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    ap.add_argument("--plot-sweep", nargs=2, metavar=("CSV", "OUT_DIR"))
    ap.add_argument("--plot-threads", nargs=2, metavar=("BENCH_JSON", "PNG"))
    ap.add_argument("--png", action="append", default=[],
                    help="link this PNG (relative to the README) in the output")
    a = ap.parse_args()
    if a.plot_sweep:
        for p in plot_sweep(*a.plot_sweep):
            print(f"wrote {p}", file=sys.stderr)
    if a.plot_threads:
        p = plot_threads(*a.plot_threads)
        print(f"wrote {p}" if p else "no 1 vs 2 thread cases", file=sys.stderr)
    if a.json or a.png:
        print(render(json.load(open(a.json)) if a.json else None, a.png))


if __name__ == "__main__":
    main()
