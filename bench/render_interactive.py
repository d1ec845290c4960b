"""Helpers of bench/interactive.sh (standard library only).

    render_interactive.py scrape PORT MODEL          Encode histograms of MODEL
                                                     from the server's /metrics
    render_interactive.py assemble RUN_DIR OUT.json --models ... --dtypes ...
        --cores N --text T --load-before L --load-after L
                                                     the run's figures as JSON
    render_interactive.py render OUT.json            the README section
"""
import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

METRICS = ("attnserve_batch_size", "attnserve_compute_seconds",
           "attnserve_queue_wait_seconds", "attnserve_request_duration_seconds")
DTYPE_INDEX = {"float32": 0, "bfloat16": 1, "int8": 2}  # attnserve-bench's


def scrape(port, model):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                  timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+?)_(sum|count)\{(.*)\} (\S+)$", line)
        if (m and m.group(1) in METRICS and f'model="{model}"' in m.group(3)
                and 'method="encode"' in m.group(3)):
            out[f"{m.group(1)}_{m.group(2)}"] = float(m.group(4))
    return out


def delta(before, after, name):
    """(sum, count) of histogram `name` between two scrapes."""
    return (after.get(name + "_sum", 0) - before.get(name + "_sum", 0),
            after.get(name + "_count", 0) - before.get(name + "_count", 0))


def per(before, after, name, scale=1000.0):
    s, n = delta(before, after, name)
    return s / n * scale if n else None


def ghz_summary(path):
    doc = json.loads(Path(path).read_text())
    pct = {int(d["percentage"]): d["latency"] / 1e6
           for d in doc.get("latencyDistribution") or []}
    codes = doc.get("statusCodeDistribution") or {}
    return {"calls": doc.get("count"), "ok": codes.get("OK", 0),
            "codes": codes, "rps": doc.get("rps"), "p50_ms": pct.get(50),
            "p90_ms": pct.get(90), "p99_ms": pct.get(99),
            "average_ms": doc.get("average", 0) / 1e6}


def inprocess(path):
    """{(dtype, threads): {batch: (ms per forward, texts/s)}} of one model."""
    out = {}
    if not Path(path).exists():
        return out
    for b in json.loads(Path(path).read_text()).get("benchmarks", []):
        m = re.match(r"BM_InprocessEncode/dtype:(\d)/threads:(\d+)/B:(\d+)/",
                     b["name"])
        if not m or b.get("error_occurred"):
            continue
        key = (int(m.group(1)), int(m.group(2)))
        out.setdefault(key, {})[int(m.group(3))] = (b["real_time"],
                                                    b["texts/s"])
    return out


def texts_per_s_at(table, batch):
    """In-process texts/s at a (fractional) batch size: linear between the
    measured sizes around it."""
    sizes = sorted(table)
    if not sizes:
        return None
    if batch <= sizes[0]:
        return table[sizes[0]][1]
    for lo, hi in zip(sizes, sizes[1:]):
        if lo <= batch <= hi:
            w = (batch - lo) / (hi - lo)
            return table[lo][1] * (1 - w) + table[hi][1] * w
    return table[sizes[-1]][1]


def load_json(path):
    return json.loads(Path(path).read_text()) if Path(path).exists() else None


def assemble(args):
    run = Path(args.run)
    cases = []
    for model in args.models.split():
        ref = inprocess(run / f"inprocess-{model}.json")
        for dtype in args.dtypes.split():
            for threads in sorted({1, args.cores}):
                prefix = run / f"{model}-{dtype}-t{threads}"
                if not Path(f"{prefix}-c1.json").exists():
                    continue
                table = ref.get((DTYPE_INDEX[dtype], threads), {})
                m0, m1 = load_json(f"{prefix}-m0.json"), load_json(
                    f"{prefix}-m1.json")
                lone = ghz_summary(f"{prefix}-c1.json")
                lone.update(
                    compute_ms=per(m0, m1, "attnserve_compute_seconds"),
                    queue_wait_ms=per(m0, m1, "attnserve_queue_wait_seconds"),
                    inprocess_ms=table.get(1, (None, None))[0])
                case = {"model": model, "dtype": dtype, "threads": threads,
                        "lone": lone, "concurrent": {}}
                for c in (8, 32):
                    if not Path(f"{prefix}-c{c}.json").exists():
                        continue
                    c0, c1 = load_json(f"{prefix}-c{c}-m0.json"), load_json(
                        f"{prefix}-c{c}-m1.json")
                    summary = ghz_summary(f"{prefix}-c{c}.json")
                    texts, batches = delta(c0, c1, "attnserve_batch_size")
                    mean_batch = texts / batches if batches else None
                    summary.update(
                        mean_batch=mean_batch,
                        compute_ms_per_batch=per(c0, c1,
                                                 "attnserve_compute_seconds"),
                        inprocess_texts_per_s=texts_per_s_at(table, mean_batch)
                        if mean_batch else None)
                    case["concurrent"][str(c)] = summary
                cases.append(case)
    doc = {"cases": cases, "cores": args.cores, "text": args.text,
           "cpu": args.cpu, "isa": args.isa,
           "load_before": args.load_before, "load_after": args.load_after}
    Path(args.out).write_text(json.dumps(doc, indent=1))


def fmt(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def render(path):
    doc = json.loads(Path(path).read_text())
    lines = [
        "## Interactive: one short text per call over gRPC (`bench/interactive.sh`)",
        "",
        "Seen from outside by [ghz](https://ghz.sh) (a third-party gRPC load "
        f"generator on the same {doc['cores']} cores), one text of 16 tokens "
        f"per call (\"{doc['text']}\"), against the same forward in process "
        "(`BM_InprocessEncode`, back to back). Machine: "
        f"{doc.get('cpu') or '?'}, ISA {doc.get('isa') or '?'} (oneDNN picks "
        "its kernels from these; this section may come from another machine "
        "than the tables above when run alone). Load average before/after: "
        f"{doc['load_before']} / {doc['load_after']}.",
        "",
        "### One call at a time (ghz -c 1)",
        "",
        "Target (issue #17): p50 over gRPC ≤ 1.3 × in-process + 0.3 ms; the "
        "server's compute per call within 10 % of the in-process forward.",
        "",
        "| model | dtype | threads | in process ms | gRPC p50 ms | p90 ms | "
        "server compute ms | compute / in process | p50 target ms | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in doc["cases"]:
        lone = c["lone"]
        ref = lone.get("inprocess_ms")
        target = 1.3 * ref + 0.3 if ref else None
        ratio = lone["compute_ms"] / ref if ref and lone.get(
            "compute_ms") else None
        met = ("yes" if target and lone["p50_ms"] and lone["p50_ms"] <= target
               else "no")
        lines.append(
            f"| {c['model']} | {c['dtype']} | {c['threads']} | {fmt(ref)} | "
            f"{fmt(lone['p50_ms'])} | {fmt(lone['p90_ms'])} | "
            f"{fmt(lone.get('compute_ms'))} | {fmt(ratio)} | {fmt(target)} | "
            f"{met} |")
    lines += [
        "",
        "### Many short calls (ghz -c 8 and -c 32, all cores)",
        "",
        "Target (issue #17): texts/s ≥ 90 % of the in-process forward at the "
        "batch sizes the server formed (mean batch from its own "
        "`attnserve_batch_size`; in-process texts/s interpolated between the "
        "measured batch sizes 1, 2, 4, 8, 16, 32). ghz shares the cores with "
        "the server. When its time is up ghz closes its connections with a "
        "call of every client in flight: those (one per client) end "
        "UNAVAILABLE on the client side and are the only calls not OK.",
        "",
        "| model | dtype | clients | calls/s | OK | mean batch | compute ms / batch "
        "| in process texts/s at that batch | gRPC / in process | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in doc["cases"]:
        for clients, s in sorted(c["concurrent"].items(), key=lambda kv: int(
                kv[0])):
            ref = s.get("inprocess_texts_per_s")
            ratio = s["rps"] / ref if ref and s.get("rps") else None
            lines.append(
                f"| {c['model']} | {c['dtype']} | {clients} | {fmt(s['rps'], 0)} | "
                f"{s['ok']}/{s['calls']} | {fmt(s.get('mean_batch'), 1)} | "
                f"{fmt(s.get('compute_ms_per_batch'))} | {fmt(ref, 0)} | "
                f"{fmt(ratio)} | {fmt(s['p50_ms'])} | {fmt(s['p99_ms'])} |")
    print("\n".join(lines))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "scrape":
        print(json.dumps(scrape(int(sys.argv[2]), sys.argv[3])))
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "render":
        render(sys.argv[2])
        return
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["assemble"])
    p.add_argument("run")
    p.add_argument("out")
    p.add_argument("--models", required=True)
    p.add_argument("--dtypes", required=True)
    p.add_argument("--cores", type=int, required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--cpu", default="")
    p.add_argument("--isa", default="")
    p.add_argument("--load-before", default="")
    p.add_argument("--load-after", default="")
    assemble(p.parse_args())


if __name__ == "__main__":
    main()
