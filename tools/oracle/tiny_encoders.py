"""Random-weight tiny encoder models of every architecture attnserve serves, as
sentence-transformers folders, and their Hugging Face reference outputs.

Shared by make_encoder_fixtures.py (tests/data/encoders) and diff_encoders.py (the differential
test). A config is a dict: arch, family (tokenizer family, tiny_tokenizers.py), hidden, heads,
layers, intermediate, max_seq_length, max_pos (max_position_embeddings), pooling
(sentence-transformers' mode names joined by "+", e.g. "mean" or "cls+mean"), dense (optional
list of Dense modules: in, out, bias, activation, path), normalize, prefix (save the
...ForMaskedLM checkpoint, whose keys carry the base-model prefix, instead of the base model),
vocab_size (optional: the tokenizer's, else the family's default); optionally prompts
({name: text}), default_prompt_name and include_prompt (1_Pooling/config.json; default true).
"""
import json
import os

import tiny_tokenizers

ARCHS = ("bert", "xlm-roberta", "camembert", "roberta", "distilbert", "mpnet")
# RoBERTa-family and MPNet positions start at padding_idx + 1 (create_position_ids_from_input_ids),
# so max_position_embeddings = max_seq_length + 2 in their real checkpoints (514 for 512).
POSITION_OFFSET = {"bert": 0, "distilbert": 0, "xlm-roberta": 2, "camembert": 2, "roberta": 2,
                   "mpnet": 2}


def model_classes(arch):
    """(config class, base model class, masked-LM class) of transformers for arch."""
    import transformers as t
    return {
        "bert": (t.BertConfig, t.BertModel, t.BertForMaskedLM),
        "xlm-roberta": (t.XLMRobertaConfig, t.XLMRobertaModel, t.XLMRobertaForMaskedLM),
        "camembert": (t.CamembertConfig, t.CamembertModel, t.CamembertForMaskedLM),
        "roberta": (t.RobertaConfig, t.RobertaModel, t.RobertaForMaskedLM),
        "distilbert": (t.DistilBertConfig, t.DistilBertModel, t.DistilBertForMaskedLM),
        "mpnet": (t.MPNetConfig, t.MPNetModel, t.MPNetForMaskedLM),
    }[arch]


def hf_config(cfg, tok):
    """The transformers config of cfg with the tokenizer's special ids."""
    config_class = model_classes(cfg["arch"])[0]
    if cfg["arch"] == "distilbert":
        return config_class(vocab_size=len(tok), dim=cfg["hidden"], n_layers=cfg["layers"],
                            n_heads=cfg["heads"], hidden_dim=cfg["intermediate"],
                            max_position_embeddings=cfg["max_pos"], initializer_range=0.1,
                            pad_token_id=tok.pad_token_id)
    extra = {}
    if cfg["arch"] != "bert":  # RoBERTa family and MPNet: as their real configs
        extra = {"layer_norm_eps": 1e-5, "bos_token_id": tok.bos_token_id,
                 "eos_token_id": tok.eos_token_id}
        if cfg["arch"] != "mpnet":
            extra["type_vocab_size"] = 1
    return config_class(vocab_size=len(tok), hidden_size=cfg["hidden"],
                        num_hidden_layers=cfg["layers"], num_attention_heads=cfg["heads"],
                        intermediate_size=cfg["intermediate"],
                        max_position_embeddings=cfg["max_pos"], initializer_range=0.1,
                        pad_token_id=tok.pad_token_id, **extra)


def noisy_(model, seed):
    """Seeded noise where HF's init leaves zeros/ones that would hide a missing term: biases,
    LayerNorms, MPNet's relative_attention_bias, and the padding rows of the word and position
    embeddings (a literal pad token in a text is looked up there, see RoBERTa's position ids)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if (name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name
                    or "relative_attention_bias" in name):
                p.add_(torch.randn(p.shape, generator=g) * 0.1)
            elif name.endswith("embeddings.weight") and p.dim() == 2:
                zero_rows = (p.abs().sum(1) == 0).nonzero().flatten()
                p[zero_rows] = torch.randn((len(zero_rows), p.shape[1]), generator=g) * 0.1


def build_model(cfg, tok, seed):
    import torch
    _, base, masked_lm = model_classes(cfg["arch"])
    torch.manual_seed(seed)
    model = (masked_lm if cfg.get("prefix") else base)(hf_config(cfg, tok))
    noisy_(model, seed)
    return model.eval()


def build_tokenizer(cfg, folder, seed):
    tok = tiny_tokenizers.build(cfg["family"], folder, seed=seed,
                                vocab_size=cfg.get("vocab_size"),
                                model_max_length=cfg["max_seq_length"])
    if cfg["arch"] == "distilbert":  # real DistilBERT folders name their own (identical) class
        from transformers import DistilBertTokenizerFast
        tok = DistilBertTokenizerFast.from_pretrained(folder)
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        tok.save_pretrained(folder)
    return tok


def dump(obj, folder, name):
    os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)


# sentence-transformers' pooling modes, in the order Pooling.forward concatenates them, and the
# 1_Pooling/config.json flag of each.
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
POOLING_FLAGS = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens",
                 "mean": "pooling_mode_mean_tokens",
                 "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
                 "weightedmean": "pooling_mode_weightedmean_tokens",
                 "lasttoken": "pooling_mode_lasttoken"}
# Dense activation -> the class name sentence-transformers saves (util.fullname).
DENSE_ACTIVATIONS = {"Identity": "torch.nn.modules.linear.Identity",
                     "Tanh": "torch.nn.modules.activation.Tanh",
                     "ReLU": "torch.nn.modules.activation.ReLU",
                     "GELU": "torch.nn.modules.activation.GELU",
                     "Sigmoid": "torch.nn.modules.activation.Sigmoid"}


def write_dense(dense, folder, seed, safetensors=True):
    """A Dense module folder as Dense.save writes it: config.json + model.safetensors, or
    pytorch_model.bin with safetensors False (safe_serialization=False)
    (linear.weight [out, in], linear.bias [out]); weights seeded N(0, 1/in_features) (the
    scale trained projections have: the output has the input's magnitude, so Tanh/GELU/Sigmoid
    bend without the projection amplifying the encoder's rounding), bias N(0, 0.1)."""
    import torch
    from safetensors.torch import save_file
    dump({"in_features": dense["in"], "out_features": dense["out"], "bias": dense["bias"],
          "activation_function": DENSE_ACTIVATIONS[dense["activation"]]}, folder, "config.json")
    g = torch.Generator().manual_seed(seed)
    tensors = {"linear.weight": torch.randn((dense["out"], dense["in"]), generator=g) /
               dense["in"] ** 0.5}
    if dense["bias"]:
        tensors["linear.bias"] = torch.randn((dense["out"],), generator=g) * 0.1
    if safetensors:
        save_file(tensors, os.path.join(folder, "model.safetensors"))
    else:
        import collections  # a state_dict is an OrderedDict
        torch.save(collections.OrderedDict(tensors), os.path.join(folder, "pytorch_model.bin"))


def write_st_files(cfg, folder, seed=0):
    """modules.json, 1_Pooling/config.json (cfg["pooling"]: modes joined by "+"), the Dense
    module folders of cfg.get("dense", []) (each {in, out, bias, activation, path}) and
    sentence_bert_config.json as SentenceTransformer.save writes them."""
    modes = cfg["pooling"].split("+")
    modules = [{"idx": 0, "name": "0", "path": "",
                "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling"}]
    for k, dense in enumerate(cfg.get("dense", [])):
        modules.append({"idx": len(modules), "name": str(len(modules)), "path": dense["path"],
                        "type": "sentence_transformers.models.Dense"})
        write_dense(dense, os.path.join(folder, dense["path"]), seed + k,
                    safetensors="bin" not in cfg.get("weights", "safetensors"))
    if cfg["normalize"]:
        modules.append({"idx": len(modules), "name": str(len(modules)),
                        "path": "%d_Normalize" % len(modules),
                        "type": "sentence_transformers.models.Normalize"})
    dump(modules, folder, "modules.json")
    dump(dict({"word_embedding_dimension": cfg["hidden"]},
              **{POOLING_FLAGS[m]: m in modes for m in POOLING_MODES},
              include_prompt=cfg.get("include_prompt", True)),
         folder, "1_Pooling/config.json")
    dump({"max_seq_length": cfg["max_seq_length"], "do_lower_case": False}, folder,
         "sentence_bert_config.json")
    if cfg.get("prompts") or cfg.get("default_prompt_name"):
        dump({"prompts": cfg.get("prompts", {}),
              "default_prompt_name": cfg.get("default_prompt_name")}, folder,
             "config_sentence_transformers.json")


# How a checkpoint is saved (cfg["weights"]): the files models ship on the Hub.
WEIGHT_FORMATS = ("safetensors", "sharded", "bin", "bin-sharded", "f16", "bf16-bin")


def save_model(model, folder, fmt="safetensors"):
    """save_pretrained in one of WEIGHT_FORMATS: model.safetensors, shards of 20 KB with
    model.safetensors.index.json, pytorch_model.bin (torch.save zip), sharded .bin with
    pytorch_model.bin.index.json, or the weights rounded to float16 (safetensors) / bfloat16
    (.bin). Readers compute in float32 with the rounded weights (load_eager, load_st)."""
    import torch
    if fmt == "f16":
        model = model.to(torch.float16)
    elif fmt == "bf16-bin":
        model = model.to(torch.bfloat16)
    kwargs = {"max_shard_size": "20KB"} if fmt in ("sharded", "bin-sharded") else {}
    model.save_pretrained(folder, safe_serialization=fmt in ("safetensors", "sharded", "f16"),
                          **kwargs)


def write_folder(cfg, folder, seed):
    """A sentence-transformers folder written file by file (allows prefixed checkpoints)."""
    tok = build_tokenizer(cfg, folder, seed)
    save_model(build_model(cfg, tok, seed), folder, cfg.get("weights", "safetensors"))
    write_st_files(cfg, folder, seed)
    return tok


def write_folder_with_st(cfg, folder, seed, tmp):
    """The same folder saved by SentenceTransformer(modules=[...]).save (fixtures)."""
    from sentence_transformers import SentenceTransformer, models
    tok = build_tokenizer(cfg, tmp, seed)
    build_model(dict(cfg, prefix=False), tok, seed).save_pretrained(tmp, safe_serialization=True)
    modules = [models.Transformer(tmp, max_seq_length=cfg["max_seq_length"]),
               models.Pooling(cfg["hidden"], include_prompt=cfg.get("include_prompt", True),
                              **{POOLING_FLAGS[m]: m in cfg["pooling"].split("+")
                                 for m in POOLING_MODES})]
    if cfg["normalize"]:
        modules.append(models.Normalize())
    SentenceTransformer(modules=modules, device="cpu", prompts=cfg.get("prompts"),
                        default_prompt_name=cfg.get("default_prompt_name")).save(folder)
    readme = os.path.join(folder, "README.md")  # a generated model card; not needed
    if os.path.exists(readme):
        os.unlink(readme)
    return tok


def pool(h, mask, how, normalize):
    """sentence-transformers' Pooling (+ Normalize) on last_hidden_state h."""
    import torch
    m = mask.unsqueeze(-1).to(h.dtype)
    if how == "cls":
        x = h[:, 0]
    elif how == "mean":
        x = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
    else:  # as sentence-transformers: padding set to -1e9 before the max
        x = torch.where(m > 0, h, torch.full_like(h, -1e9)).max(1).values
    return torch.nn.functional.normalize(x, p=2, dim=1) if normalize else x


def st_pool(h, mask, modes):
    """sentence-transformers' own Pooling module with `modes` (a list) on last_hidden_state h."""
    from sentence_transformers import models
    pooling = models.Pooling(h.shape[-1], **{POOLING_FLAGS[m]: m in modes for m in POOLING_MODES})
    return pooling({"token_embeddings": h.clone(), "attention_mask": mask})["sentence_embedding"]


def load_eager(folder):
    """The folder's base model as AutoModel loads it, with the eager attention reference, in
    float32 whatever dtype its weights are stored in (as attnserve computes)."""
    import torch
    from transformers import AutoModel
    return AutoModel.from_pretrained(folder, attn_implementation="eager",
                                     torch_dtype=torch.float32).eval()


def load_st(folder):
    """SentenceTransformer(folder) computing in float32 whatever the stored dtype."""
    import torch
    from sentence_transformers import SentenceTransformer
    return SentenceTransformer(folder, device="cpu", model_kwargs={"torch_dtype": torch.float32})


def forward(model, features):
    """last_hidden_state and hidden_states for the tokenizer's batch features, passing only the
    inputs the model's forward takes (as sentence-transformers' Transformer module does)."""
    import inspect
    import torch
    params = inspect.signature(model.forward).parameters
    inputs = {k: v for k, v in features.items() if k in params}
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
    return out.last_hidden_state, torch.stack(out.hidden_states)


def position_ids(arch, input_ids, pad_id):
    """The position ids HF uses: RoBERTa family and MPNet count only non-pad tokens (a literal
    pad token inside a text gets position pad_id and does not advance the count)."""
    import torch
    if POSITION_OFFSET[arch] == 0:
        return torch.arange(input_ids.shape[1]).expand(input_ids.shape)
    mask = input_ids.ne(pad_id).int()
    return (torch.cumsum(mask, dim=1) * mask).long() + pad_id
