"""Helpers of bench/serving.sh (standard library only).

    serving_collect.py metrics PORT MODEL OUT.json   scrape the server's /metrics
    serving_collect.py weights FOLDER DTYPE          weight bytes after conversion
    serving_collect.py inprocess BENCH.json THREADS BATCH HALF_BATCH
                                                    in-process texts/s
    serving_collect.py case OUT.json KEY=VALUE|KEY=@FILE.json ...
        append one case (a model served in one precision) to OUT.json
    serving_collect.py meta OUT.json KEY=VALUE ...   set top-level keys
"""
import json
import re
import struct
import sys
import urllib.request
from pathlib import Path

METRICS = ("attnserve_batch_size", "attnserve_compute_seconds",
           "attnserve_queue_wait_seconds")


def scrape(port, model):
    """Sums and counts of the Encode batching histograms of `model`, and the
    process memory the server exports."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                  timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+?)_(sum|count)\{(.*)\} (\S+)$", line)
        if m and m.group(1) in METRICS and f'model="{model}"' in m.group(3):
            key = f"{m.group(1)}_{m.group(2)}"
            out[key] = out.get(key, 0.0) + float(m.group(4))
        m = re.match(r"^(process_resident_memory_bytes|process_virtual_memory_"
                     r"bytes) (\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def weight_bytes(folder, dtype):
    """Bytes of the weights the encoder holds: every tensor it loads in f32,
    except that int8 keeps the encoder layers' matmul weights as s8 with one
    f32 scale per output channel (core/dtype.h) -- all but the FFN output
    projection (`output.dense`), which int8 keeps in f32
    (core/layers/encoder_layer.cc). The pooler and position_ids are not
    loaded."""
    total = 0
    for name, e in safetensors_header(Path(folder) / "model.safetensors").items():
        if name == "__metadata__" or "pooler" in name or "position_ids" in name:
            continue
        n = 1
        for d in e["shape"]:
            n *= d
        is_matmul = (".layer." in name and name.endswith(".weight")
                     and len(e["shape"]) == 2
                     and not re.search(r"\.layer\.\d+\.output\.dense\.", name))
        if dtype == "int8" and is_matmul:
            total += n + 4 * e["shape"][0]
        else:
            total += 4 * n
    return total


def inprocess(bench_json, threads, batch, half_batch):
    """texts/s of each BM_InprocessEncode case with these threads and batch,
    by dtype name (with `half_batch`: the same at that batch size)."""
    names = {"0": "float32", "1": "bfloat16", "2": "int8"}
    out = {}
    for b in json.load(open(bench_json))["benchmarks"]:
        m = re.match(r"BM_InprocessEncode/dtype:(\d)/threads:(\d+)/B:(\d+)",
                     b["name"])
        if not m or b.get("run_type") == "aggregate":
            continue
        if int(m.group(2)) != threads:
            continue
        if int(m.group(3)) == half_batch:
            out.setdefault(names[m.group(1)], {})["half_batch"] = {
                "batch": half_batch, "texts_per_s": b.get("texts/s"),
                "ms_per_batch": b.get("real_time")}
            continue
        if int(m.group(3)) != batch:
            continue
        out.setdefault(names[m.group(1)], {}).update({
            "texts_per_s": b.get("texts/s"),
            "tokens_per_s": b.get("tokens/s"),
            "tokens_per_text": b.get("tokens_per_text"),
            "ms_per_batch": b.get("real_time"),
            "cpu_ms_per_batch": b.get("cpu_time"),
            "load_s": b.get("load_s"),
            "error": b.get("error_message"),
        })
    return out


def parse_value(v):
    if v.startswith("@"):
        path = Path(v[1:])
        return json.load(open(path)) if path.is_file() else None
    try:
        return json.loads(v)
    except ValueError:
        return v


def main(argv):
    cmd = argv[1]
    if cmd == "metrics":
        json.dump(scrape(argv[2], argv[3]), open(argv[4], "w"))
    elif cmd == "weights":
        print(weight_bytes(argv[2], argv[3]))
    elif cmd == "inprocess":
        print(json.dumps(inprocess(argv[2], int(argv[3]), int(argv[4]),
                                   int(argv[5]))))
    elif cmd in ("case", "meta"):
        out = Path(argv[2])
        doc = json.load(open(out)) if out.is_file() else {"cases": []}
        case = {}
        for kv in argv[3:]:
            key, value = kv.split("=", 1)
            case[key] = parse_value(value)
        if cmd == "case":
            doc["cases"].append(case)
        else:
            doc.update(case)
        json.dump(doc, open(out, "w"), indent=1)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
