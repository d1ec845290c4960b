#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ from the golden data.

Run from anywhere: python3 tests/fuzz/make_seeds.py. Needs protoc (request seeds). The byte
layouts follow each fuzzer's input format (see the *_fuzzer.cc headers); FuzzedDataProvider takes
integers and booleans from the END of the input.
"""
import json
import pathlib
import struct
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CORPUS = ROOT / "tests" / "fuzz" / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def golden_texts(model):
    cases = json.loads((DATA / model / "cases.json").read_text())["cases"]
    return [t for c in cases for t in c["texts"]]


def safetensors(header, data=b""):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def seeds_safetensors():
    write("safetensors", "f32", safetensors(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8))
    write("safetensors", "mixed", safetensors({
        "__metadata__": {"format": "pt"},
        "h": {"dtype": "F16", "shape": [1, 2], "data_offsets": [0, 4]},
        "b": {"dtype": "BF16", "shape": [2], "data_offsets": [4, 8]},
        "i": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]},
        "j": {"dtype": "I32", "shape": [], "data_offsets": [16, 20]},
        "z": {"dtype": "F32", "shape": [0, 3], "data_offsets": [20, 20]}}, b"\x01" * 20))
    write("safetensors", "overlap", safetensors({
        "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
        "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}, b"\0" * 8))


HF_FILES = ["config.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
            "modules.json", "1_Pooling/config.json", "sentence_bert_config.json"]


def seeds_hf_config():
    for i, name in enumerate(HF_FILES):
        write("hf_config", name.replace("/", "_"), bytes([i]) + (DATA / "bert-tiny" / name).read_bytes())
    write("hf_config", "marian_config.json", bytes([7]) + (DATA / "marian-tiny/config.json").read_bytes())
    gen = json.loads((DATA / "marian-tiny/cases.json").read_text())["generation_config_json"]
    write("hf_config", "marian_generation_config.json", bytes([8]) + json.dumps(gen).encode())


def seeds_server_config():
    write("server_config", "two_models",
          'model { name: "minilm" path: "/models/minilm" batching { max_batch_size: 64 } }\n'
          'model { name: "en-de" path: "/models/opus-mt-en-de" dtype: DTYPE_FLOAT32 '
          'limits { max_texts_per_request: 8 max_input_tokens: 128 } }\n')
    write("server_config", "flag", "bert=/models/bert")
    write("server_config", "duplicate", 'model { name: "a" path: "/x" } model { name: "a" path: "/y" }')


def seeds_tokenizers():
    for i, t in enumerate(golden_texts("marian-tiny")):
        write("marian_tokenizer", f"case{i}", t.encode() + bytes([0, 0, 130, 1]))
    # hf_tokenizer: text + [max_tokens byte, pair, truncate, family] (consumed from the end);
    # max_tokens 24 (byte 25), families in the fuzzer's kFamilies order.
    for f, family in enumerate(["wordpiece-bert", "wordpiece-mpnet", "bpe-roberta", "unigram-xlmr"]):
        cases = json.loads((DATA / "tokenizers" / family / "cases.json").read_text())["cases"]
        for i, c in enumerate(cases[:8]):
            write("hf_tokenizer", f"{family}_{i}", c["text"].encode() + bytes([25, 0, 1, f]))
    # bert-tiny (family 4: vocab.txt only, the converted tokenizer), its golden texts cut at 128
    # (byte 129) and strict at 9 (byte 10).
    for i, t in enumerate(golden_texts("bert-tiny")):
        write("hf_tokenizer", f"bert-tiny_{i}", t.encode() + bytes([129, 0, 1, 4]))
        write("hf_tokenizer", f"bert-tiny_{i}_strict", t.encode() + bytes([10, 0, 0, 4]))


def encode(message, text):
    return subprocess.run(
        ["protoc", f"--encode=attnserve.v1.{message}", "--proto_path", str(ROOT / "proto"),
         "attnserve/v1/attnserve.proto"], input=text.encode(), capture_output=True, check=True).stdout


def seeds_request():
    bert = golden_texts("bert-tiny")[:3]
    marian = golden_texts("marian-tiny")[:3]
    texts = lambda ts: " ".join("texts: " + json.dumps(t) for t in ts)
    write("request", "encode", b"\0" + encode("EncodeRequest", f'model: "bert" {texts(bert)} truncate: true'))
    write("request", "translate", b"\1" + encode(
        "TranslateRequest", f'model: "marian" {texts(marian)} beam_size: 2 num_hypotheses: 2 '
        'max_new_tokens: 8 length_penalty: 1.0 early_stopping: true'))
    write("request", "tokenize", b"\2" + encode("TokenizeRequest", f'model: "bert" {texts(bert)}'))
    write("request", "tokenize_marian", b"\2" + encode(
        "TokenizeRequest", f'model: "marian" {texts(marian)} target_language: "de"'))
    write("request", "raw_text", b"\x85" + bert[0].encode() + b" \xff\xc3")
    write("request", "get_model", b"\4" + encode("GetModelRequest", 'name: "bert"'))
    write("request", "rerank", b"\xf0" + encode(
        "RerankRequest", f'model: "ce" query: "who wrote it" {texts(bert)} top_n: 2 '
        'return_texts: true truncate: true'))
    write("request", "classify_pairs", b"\xf1" + encode(
        "ClassifyRequest", f'model: "cls3" {texts(bert[:2])} text_pairs: "a" text_pairs: "" '
        'top_k: 2'))


def seeds_torch():
    """pytorch_bin: whole .bin fixtures (the small ones: the f32 bert-bin adds nothing the f16
    one lacks); torch_pickle: the data.pkl of every .bin fixture."""
    import zipfile
    weights = DATA / "weights"
    small = ["tensors.bin", "malicious-os.bin", "malicious-posix.bin",
             "bert-bin-f16/pytorch_model.bin"]
    for rel in small:
        write("pytorch_bin", rel.split("/")[0].replace(".bin", ""), (weights / rel).read_bytes())
    for rel in small + ["bert-bin/pytorch_model.bin"]:
        with zipfile.ZipFile(weights / rel) as z:
            pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            write("torch_pickle", rel.split("/")[0].replace(".bin", ""), z.read(pkl))


if __name__ == "__main__":
    seeds_safetensors()
    seeds_hf_config()
    seeds_server_config()
    seeds_tokenizers()
    seeds_request()
    seeds_torch()
