"""Makes the model folders of bench/peers under WORK (idempotent):

  WORK/bert-base        random-weight BertModel, bert-base-uncased config
  WORK/xlm-r-base       random-weight XLMRobertaModel, multilingual-e5-base
                        config (XLM-R-base), Unigram tokenizer.json of its
                        250002 ids
  WORK/opus-mt-en-de    random-weight MarianMTModel, opus-mt-en-de config
  WORK/minilm-ce        random-weight BertForSequenceClassification (1 label)
                        at ms-marco-MiniLM-L-6-v2's shape (hidden 384, 6
                        layers, 12 heads, FFN 1536), bert-base's tokenizer
                        files: the rerank case's cross-encoder
  WORK/onnx/<model>/    model.onnx (torch.onnx.export), model.opt.onnx
                        (onnxruntime.transformers optimizer, model_type=bert),
                        model.opt.int8.onnx (quantize_dynamic QInt8 per channel)
  WORK/ct2/<model>/     CTranslate2 conversions (TransformersConverter; not
                        of minilm-ce: the rerank case is compared with
                        sentence-transformers and ONNX Runtime)
  WORK/conversions.json what was made, and why a step failed
With PEERS_MODELS set (shapes.models_filter), only those models are made.

The HF folders are written with save_pretrained(safe_serialization=True) plus
synthetic tokenizer files (the encoder cases feed token ids, so only the ids
matter; the rerank case's texts are words "w<i>" of that vocabulary, one
token each) so that every engine, attnserve included, loads the same weights.
Usage: make_models.py WORK MINILM_FOLDER
"""
import json
import os
import shutil
import sys
import traceback

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MARIAN_TINY = os.path.join(ROOT, "tests", "data", "marian-tiny")
BERT_TINY = os.path.join(ROOT, "tests", "data", "bert-tiny")


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def make_bert_base(folder):
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                        num_attention_heads=12, intermediate_size=3072,
                        max_position_embeddings=512, type_vocab_size=2,
                        architectures=["BertModel"])
    BertModel(config).eval().save_pretrained(folder, safe_serialization=True)
    write_bert_tokenizer(folder)
    write_mean_pooling(folder, 768)


def make_minilm_ce(folder):
    """A cross-encoder as CrossEncoder(folder) loads it (one label: sigmoid
    scores) at ms-marco-MiniLM-L-6-v2's shape."""
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6,
                        num_attention_heads=12, intermediate_size=1536,
                        max_position_embeddings=512, type_vocab_size=2,
                        num_labels=1,
                        architectures=["BertForSequenceClassification"])
    BertForSequenceClassification(config).eval().save_pretrained(
        folder, safe_serialization=True)
    write_bert_tokenizer(folder)


def write_bert_tokenizer(folder):
    # bert-base-uncased layout of the special tokens: [PAD] 0, [UNK] 100,
    # [CLS] 101, [SEP] 102, [MASK] 103.
    vocab = [f"[unused{i}]" for i in range(30522)]
    vocab[0], vocab[100], vocab[101], vocab[102], vocab[103] = (
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    for i in range(1000, 30522):
        vocab[i] = f"w{i}"
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True,
        "model_max_length": 512, "cls_token": "[CLS]", "sep_token": "[SEP]",
        "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]"})
    write_json(os.path.join(folder, "special_tokens_map.json"), {
        "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "unk_token": "[UNK]", "mask_token": "[MASK]"})


def write_mean_pooling(folder, dim):
    """sentence-transformers layout: Transformer then mean Pooling, no
    Normalize."""
    shutil.copytree(os.path.join(BERT_TINY, "1_Pooling"),
                    os.path.join(folder, "1_Pooling"), dirs_exist_ok=True)
    pooling = os.path.join(folder, "1_Pooling", "config.json")
    with open(pooling) as f:
        p = json.load(f)
    p["word_embedding_dimension"] = dim
    write_json(pooling, p)
    write_json(os.path.join(folder, "modules.json"), [
        {"idx": 0, "name": "0", "path": "",
         "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"}])


def make_xlmr_base(folder):
    from transformers import XLMRobertaConfig, XLMRobertaModel
    from shapes import XLMR_BOS, XLMR_EOS, XLMR_PAD, XLMR_VOCAB
    torch.manual_seed(0)
    # The multilingual-e5-base config.json (XLM-R-base).
    config = XLMRobertaConfig(
        vocab_size=XLMR_VOCAB, hidden_size=768, num_hidden_layers=12,
        num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
        max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
        pad_token_id=XLMR_PAD, bos_token_id=XLMR_BOS, eos_token_id=XLMR_EOS,
        architectures=["XLMRobertaModel"])
    XLMRobertaModel(config).eval().save_pretrained(folder,
                                                   safe_serialization=True)
    write_xlmr_tokenizer(folder)
    write_mean_pooling(folder, 768)


def write_xlmr_tokenizer(folder):
    """XLM-R's tokenizer.json layout (Unigram, Metaspace, <s> $A </s>) over
    synthetic pieces: attnserve's loader and the CTranslate2 converter read
    the 250002-id vocabulary; the benchmark feeds ids, so the pieces' text
    does not matter."""
    from tokenizers import Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors
    from transformers import XLMRobertaTokenizerFast
    from shapes import XLMR_BOS, XLMR_EOS, XLMR_VOCAB
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(f"\u2581w{i}", -10.0 - i * 1e-5)
              for i in range(4, XLMR_VOCAB - 1)]
    vocab.append(("<mask>", 0.0))
    tok = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Nmt(), normalizers.NFKC()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", XLMR_BOS), ("</s>", XLMR_EOS)])
    fast = XLMRobertaTokenizerFast(
        tokenizer_object=tok, model_max_length=512, bos_token="<s>",
        eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    fast.save_pretrained(folder)


def make_marian(folder):
    from transformers import MarianConfig, MarianMTModel
    from shapes import MARIAN_EOS, MARIAN_PAD
    torch.manual_seed(0)
    # The opus-mt-en-de config.json.
    config = MarianConfig(
        vocab_size=58101, decoder_vocab_size=58101, d_model=512,
        encoder_layers=6, decoder_layers=6, encoder_attention_heads=8,
        decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
        activation_function="swish", max_position_embeddings=512,
        scale_embedding=True, static_position_embeddings=True,
        share_encoder_decoder_embeddings=True, tie_word_embeddings=True,
        pad_token_id=MARIAN_PAD, eos_token_id=MARIAN_EOS, bos_token_id=0,
        decoder_start_token_id=MARIAN_PAD, bad_words_ids=[[MARIAN_PAD]],
        max_length=512, num_beams=4, architectures=["MarianMTModel"])
    model = MarianMTModel(config).eval()
    # Random weights would end some rows early at </s>; every engine must
    # generate exactly NEW_TOKENS tokens (attnserve has no min_new_tokens), so
    # </s> gets a large negative logit bias in the checkpoint itself.
    with torch.no_grad():
        model.final_logits_bias[0, MARIAN_EOS] = -1e4
    model.save_pretrained(folder, safe_serialization=True)
    write_json(os.path.join(folder, "generation_config.json"), {
        "bad_words_ids": [[MARIAN_PAD]], "bos_token_id": 0,
        "decoder_start_token_id": MARIAN_PAD, "eos_token_id": MARIAN_EOS,
        "forced_eos_token_id": MARIAN_EOS, "max_length": 512, "num_beams": 4,
        "pad_token_id": MARIAN_PAD})
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(2, MARIAN_PAD):
        vocab[f"\u2581w{i}"] = i
    vocab["<pad>"] = MARIAN_PAD
    write_json(os.path.join(folder, "vocab.json"), vocab)
    for spm in ("source.spm", "target.spm"):
        shutil.copy(os.path.join(MARIAN_TINY, spm), os.path.join(folder, spm))
    with open(os.path.join(MARIAN_TINY, "tokenizer_config.json")) as f:
        tok = json.load(f)
    tok["added_tokens_decoder"] = {
        str(i): dict(tok["added_tokens_decoder"][old])
        for i, old in ((0, "0"), (1, "1"), (MARIAN_PAD, "1762"))}
    tok["model_max_length"] = 512
    write_json(os.path.join(folder, "tokenizer_config.json"), tok)
    shutil.copy(os.path.join(MARIAN_TINY, "special_tokens_map.json"), folder)


def export_onnx(hf_folder, out_dir, classifier=False):
    """fp32 ONNX of BertModel / XLMRobertaModel (outputs last_hidden_state,
    pooler_output) or, with classifier, of BertForSequenceClassification
    (output logits), with eager attention (the pattern the ORT optimizer
    fuses) and dynamic batch and sequence axes."""
    from transformers import AutoModel, AutoModelForSequenceClassification
    cls = AutoModelForSequenceClassification if classifier else AutoModel
    model = cls.from_pretrained(hf_folder, attn_implementation="eager")
    model.eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    axes = {0: "batch", 1: "sequence"}
    path = os.path.join(out_dir, "model.onnx")
    outputs = ({"logits": {0: "batch"}} if classifier else
               {"last_hidden_state": axes, "pooler_output": {0: "batch"}})
    kwargs = dict(input_names=["input_ids", "attention_mask", "token_type_ids"],
                  output_names=list(outputs),
                  dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                "token_type_ids": axes, **outputs},
                  opset_version=17)
    with torch.inference_mode():
        try:  # the TorchScript exporter (what the ORT optimizer expects)
            torch.onnx.export(model, args, path, dynamo=False, **kwargs)
            exporter = "torchscript"
        except Exception:  # noqa: BLE001 (newer torch: dynamo only)
            torch.onnx.export(model, args, path, dynamo=True, **kwargs)
            exporter = "dynamo"
    return path, exporter


def optimize_onnx(path, out_dir, config):
    from onnxruntime.transformers.optimizer import optimize_model
    opt = optimize_model(path, model_type="bert",
                         num_heads=config["num_attention_heads"],
                         hidden_size=config["hidden_size"], use_gpu=False)
    out = os.path.join(out_dir, "model.opt.onnx")
    opt.save_model_to_file(out)
    return out, opt.get_fused_operator_statistics()


def quantize_onnx(path, out_dir):
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    out = os.path.join(out_dir, "model.opt.int8.onnx")
    # DefaultTensorType: shape inference cannot type the outputs of the
    # optimizer's contrib ops (Attention, SkipLayerNormalization, ...).
    quantize_dynamic(path, out, weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return out


def convert_ct2(hf_folder, out_dir):
    import ctranslate2
    ctranslate2.converters.TransformersConverter(hf_folder).convert(
        out_dir, force=True)
    return out_dir


def step(report, key, fn):
    """Runs fn once; its result or its error is kept in report[key]."""
    if key in report and "error" not in report[key]:
        return report[key].get("result")
    try:
        report[key] = {"result": fn()}
    except Exception as e:  # noqa: BLE001 (reported per engine, not fatal)
        traceback.print_exc()
        report[key] = {"error": f"{type(e).__name__}: {e}".splitlines()[0]}
    return report[key].get("result")


def main(work, minilm):
    sys.path.insert(0, HERE)
    import shapes
    only = shapes.models_filter()

    def wanted(name):
        return not only or name in only
    os.makedirs(work, exist_ok=True)
    report_path = os.path.join(work, "conversions.json")
    report = {}
    if os.path.exists(report_path):
        with open(report_path) as f:
            report = json.load(f)
    bert = os.path.join(work, "bert-base")
    marian = os.path.join(work, "opus-mt-en-de")
    xlmr = os.path.join(work, "xlm-r-base")
    ce = os.path.join(work, "minilm-ce")
    makers = {"bert-base": lambda: make_bert_base(bert) or bert,
              "xlm-r-base": lambda: make_xlmr_base(xlmr) or xlmr,
              "opus-mt-en-de": lambda: make_marian(marian) or marian,
              "minilm-ce": lambda: make_minilm_ce(ce) or ce}
    for name, make in makers.items():
        if wanted(name):
            step(report, f"hf/{name}", make)
    hf = {k: v for k, v in {"bert-base": bert, "xlm-r-base": xlmr,
                             "minilm-ce": ce}.items() if wanted(k)}
    has_minilm = os.path.exists(os.path.join(minilm, "config.json"))
    if wanted("minilm") and has_minilm:
        hf["minilm"] = minilm
    elif wanted("minilm"):
        report["hf/minilm"] = {"error": f"{minilm} has no config.json: run "
                               "deploy/install-deps.sh (it links the real "
                               "all-MiniLM-L6-v2 there)"}
    for name, folder in hf.items():
        out_dir = os.path.join(work, "onnx", name)
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(folder, "config.json")) as f:
            config = json.load(f)
        exported = step(report, f"onnx/{name}",
                        lambda: export_onnx(folder, out_dir,
                                            classifier=name == "minilm-ce"))
        if exported:
            opt = step(report, f"onnx-opt/{name}",
                       lambda: optimize_onnx(exported[0], out_dir, config))
            if opt:
                step(report, f"onnx-int8/{name}",
                     lambda: quantize_onnx(opt[0], out_dir))
        if name != "minilm-ce":
            step(report, f"ct2/{name}",
                 lambda: convert_ct2(folder, os.path.join(work, "ct2", name)))
    if wanted("opus-mt-en-de"):
        step(report, "ct2/opus-mt-en-de",
             lambda: convert_ct2(marian,
                                 os.path.join(work, "ct2", "opus-mt-en-de")))
    with open(report_path, "w") as f:
        json.dump(report, f, indent=2)
    for key, value in report.items():
        print(f"make_models: {key}: {value.get('error', 'ok')}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
