#!/usr/bin/env python3
"""Writes tests/data/weights/: one tiny random BERT sentence-transformers folder with its weights
saved each way Hub folders ship them, the embeddings SentenceTransformer(folder).encode gives for
each, a torch.save'd state dict of every storage dtype and layout, and two malicious .bin files.

    .venv-oracle/bin/python tools/oracle/make_weight_fixtures.py [--out tests/data/weights]

  bert-safetensors/  model.safetensors (SentenceTransformer.save)
  bert-sharded/      model-0000i-of-0000n.safetensors + model.safetensors.index.json
                     (save_pretrained, max_shard_size 20KB)
  bert-bin/          pytorch_model.bin (save_pretrained(safe_serialization=False): torch.save)
  bert-bin-sharded/  pytorch_model-0000i-of-0000n.bin + pytorch_model.bin.index.json
                     (the same with max_shard_size 20KB)
  bert-bin-f16/      pytorch_model.bin of model.half() (sentence-transformers computes in f32
                     with the f16-rounded weights: model_kwargs torch_dtype float32)
  references.json, references.safetensors
                     texts and, per folder, "<folder>.embedding" = SentenceTransformer.encode
  tensors.bin        torch.save of an OrderedDict with _metadata (BUILD), f32/f16/bf16/i64/i32,
                     0-d and empty tensors, views into one storage at offsets, a transposed
                     (non-contiguous) tensor; tensors.expected.safetensors: the float ones as
                     f32 (.contiguous())
  malicious-posix.bin  torch.save of an object whose __reduce__ is os.system (pickled as
                     GLOBAL posix system): loading it with pickle would run `touch MARKER`
  malicious-os.bin   the same as a hand-written pickle naming GLOBAL os system in a torch-style
                     zip (archive/data.pkl)
"""
import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multilingual_texts as mt  # noqa: E402
import tiny_encoders  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 1919
CONFIG = dict(arch="bert", family="wordpiece-bert", vocab_size=400, hidden=16, heads=2,
              layers=2, intermediate=32, max_seq_length=16, max_pos=16, pooling="mean",
              normalize=True, prefix=False)
# The C++ test checks these do not exist after it loaded the malicious files.
MARKERS = {"malicious-posix.bin": "/tmp/attnserve-malicious-bin-posix-ran",
           "malicious-os.bin": "/tmp/attnserve-malicious-bin-os-ran"}


def copy_non_weights(src, dst):
    """Every file of the sentence-transformers folder src except its weights."""
    for dirpath, _, names in os.walk(src):
        for name in names:
            if name == "model.safetensors":
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), src)
            os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
            shutil.copy(os.path.join(dirpath, name), os.path.join(dst, rel))


def write_variants(out):
    import torch
    from transformers import AutoModel
    base = os.path.join(out, "bert-safetensors")
    with tempfile.TemporaryDirectory(prefix="weights-fixture-") as tmp:
        tiny_encoders.write_folder_with_st(CONFIG, base, SEED, tmp)
    model = AutoModel.from_pretrained(base).eval()
    variants = {
        "bert-sharded": lambda d: model.save_pretrained(d, safe_serialization=True,
                                                        max_shard_size="20KB"),
        "bert-bin": lambda d: model.save_pretrained(d, safe_serialization=False),
        "bert-bin-sharded": lambda d: model.save_pretrained(d, safe_serialization=False,
                                                            max_shard_size="20KB"),
        "bert-bin-f16": lambda d: AutoModel.from_pretrained(base).half().save_pretrained(
            d, safe_serialization=False),
    }
    for name, save in variants.items():
        folder = os.path.join(out, name)
        copy_non_weights(base, folder)
        save(folder)
    for name, ext in (("bert-sharded", ".safetensors"), ("bert-bin-sharded", ".bin")):
        assert len([n for n in os.listdir(os.path.join(out, name))
                    if n.endswith(ext)]) >= 3, "expected >= 3 shards in " + name
    return ["bert-safetensors"] + list(variants)


def write_references(out, folders):
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    texts = [mt.TEXTS[0], mt.TEXTS[1], "short", "", mt.long_text()]
    tensors, doc = {}, {"texts": texts, "folders": {}}
    for name in folders:
        st = SentenceTransformer(os.path.join(out, name), device="cpu",
                                 model_kwargs={"torch_dtype": torch.float32})
        assert next(st[0].auto_model.parameters()).dtype == torch.float32
        emb = torch.tensor(st.encode(texts, batch_size=len(texts), show_progress_bar=False))
        tensors["%s.embedding" % name] = emb.contiguous()
        doc["folders"][name] = {"weights": sorted(n for n in os.listdir(os.path.join(out, name))
                                                  if n.endswith((".safetensors", ".bin", ".json"))
                                                  and n.startswith(("model", "pytorch_model"))),
                                "embedding": "%s.embedding" % name}
    save_file(tensors, os.path.join(out, "references.safetensors"))
    return doc


def write_tensors_bin(out):
    """Every storage dtype and layout a state dict can hold, saved by torch.save itself."""
    import torch
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(SEED)
    shared = torch.randn(10, generator=g)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=g)
    sd["f16"] = torch.randn(2, 5, generator=g).half()
    sd["bf16"] = torch.randn(4, generator=g).bfloat16()
    sd["i64"] = torch.arange(6, dtype=torch.int64)
    sd["i32"] = torch.arange(4, dtype=torch.int32)
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["view_head"] = shared[:4].view(2, 2)  # storage offset 0 of a 10-element storage
    sd["view_tail"] = shared[6:]             # offset 6 of the same storage
    sd["transposed"] = torch.randn(3, 4, generator=g).t()
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    torch.save(sd, os.path.join(out, "tensors.bin"))
    expected = {k: v.float().contiguous() for k, v in sd.items() if v.is_floating_point()}
    save_file(expected, os.path.join(out, "tensors.expected.safetensors"))


class Evil:
    """Pickles as os.system(command): what a malicious checkpoint carries."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def write_malicious(out):
    import torch
    torch.save({"weight": torch.zeros(2), "payload": Evil("touch " + MARKERS[
        "malicious-posix.bin"])}, os.path.join(out, "malicious-posix.bin"))
    command = ("touch " + MARKERS["malicious-os.bin"]).encode()
    pickle = (b"\x80\x02}q\x00(X\x07\x00\x00\x00payloadq\x01cos\nsystem\nq\x02"
              + b"X" + len(command).to_bytes(4, "little") + command
              + b"\x85q\x03Rq\x04u.")
    with zipfile.ZipFile(os.path.join(out, "malicious-os.bin"), "w") as z:
        z.writestr("archive/data.pkl", pickle)
        z.writestr("archive/version", "3\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "weights"))
    args = p.parse_args()
    import torch
    torch.set_num_threads(1)
    readme = os.path.join(args.out, "README.md")
    keep = open(readme, encoding="utf-8").read() if os.path.exists(readme) else None
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    if keep is not None:
        with open(readme, "w", encoding="utf-8") as f:
            f.write(keep)
    folders = write_variants(args.out)
    doc = write_references(args.out, folders)
    write_tensors_bin(args.out)
    write_malicious(args.out)
    doc.update(seed=SEED, config=CONFIG, markers=MARKERS,
               versions={"torch": torch.__version__,
                         "transformers": __import__("transformers").__version__,
                         "sentence_transformers":
                             __import__("sentence_transformers").__version__})
    with open(os.path.join(args.out, "references.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(args.out) for n in ns)
    print("%s: %d folders, %.0f KB" % (args.out, len(folders), size / 1024))


if __name__ == "__main__":
    main()
