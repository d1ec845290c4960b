// Encoder throughput at real model shapes with random weights, per precision
// and thread count, relative to the oneDNN matmul peak of that precision and
// thread count measured in the same run. Counters:
//   tokens/s      real (unpadded) tokens per second
//   GFLOP/s       matmul FLOPs computed per second (real tokens only: the
//                 encoder packs a batch without padding)
//   peak_frac     GFLOP/s / the oneDNN [2048]^3 matmul peak (same dtype and
//                 threads, timed inside the primitive)
//   non_matmul    share of the wall time outside oneDNN matmul primitives
//                 (LayerNorm, softmax, head split/merge, embeddings, int8
//                 quantization of activations ...), from the context profile
//   pad_avoided   share of the batch padded to its longest text that packing
//                 skips (ragged batches; 0 for uniform ones)
//   roofline_frac the roofline time over the measured time: a forward takes
//                 at least max(FLOPs / peak, encoder weight bytes / read
//                 bandwidth of a buffer that size), both measured in the run
//   bw_bound      1 when the weight read is the larger of the two
// Label: model, precision, and the kernel oneDNN chose for the FFN matmul.
// BM_Rerank (a cross-encoder reranking 1 query x 100 passages, as a Rerank
// call runs) counts pairs/s, tokens/s and peak_frac, plus tokenize_frac.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <tuple>

#include "bench/bench_util.h"
#include "core/models/safetensors_writer.h"
#include "core/models/sequence_classifier.h"
#include "core/models/transformer_encoder.h"
#include "core/ops/linear.h"
#include "core/ops/quantize.h"
#include "core/pooling.h"

namespace attnserve::bench {
namespace {

// bert-base's compute shape is also XLM-R-base's (multilingual-e5-base) and
// MPNet-base's (all-mpnet-base-v2); those rows run the other architectures'
// embeddings (XLM-R: 250k vocabulary, positions after the padding index) and
// MPNet's relative-position bias.
enum Model { kMiniLm = 0, kBertBase = 1, kXlmrBase = 2, kMpnetBase = 3 };

const char* ModelName(int which) {
  static const char* names[] = {"MiniLM-L6", "bert-base", "xlm-r-base",
                                "mpnet-base"};
  return names[which];
}

EncoderConfig Shape(int which) {
  EncoderConfig c;
  c.vocab_size = 30522;
  c.max_position_embeddings = 512;
  c.num_heads = 12;
  if (which == kMiniLm) {  // all-MiniLM-L6-v2
    c.num_layers = 6, c.hidden_size = 384, c.intermediate_size = 1536;
    return c;
  }
  c.num_layers = 12, c.hidden_size = 768, c.intermediate_size = 3072;
  if (which == kXlmrBase) {
    c.model_type = "xlm-roberta";
    c.vocab_size = 250002, c.max_position_embeddings = 514;
    c.type_vocab_size = 1, c.layer_norm_eps = 1e-5f;
    c.positions = PositionScheme::kAfterPadding, c.padding_idx = 1;
  } else if (which == kMpnetBase) {
    c.model_type = "mpnet";
    c.vocab_size = 30527, c.max_position_embeddings = 514;
    c.type_vocab_size = 0, c.layer_norm_eps = 1e-5f;
    c.positions = PositionScheme::kAfterPadding, c.padding_idx = 1;
    c.relative_attention_buckets = 32;
  }
  return c;
}

EncoderWeights RandomBertWeights(const EncoderConfig& c) {
  const int64_t h = c.hidden_size, f = c.intermediate_size;
  uint32_t seed = 1;
  EncoderWeights w;
  w.word_embeddings = RandomTensor({c.vocab_size, h}, seed++);
  w.position_embeddings = RandomTensor({c.max_position_embeddings, h}, seed++);
  if (c.type_vocab_size > 0)
    w.token_type_embeddings = RandomTensor({c.type_vocab_size, h}, seed++);
  if (c.relative_attention_buckets > 0) {
    w.relative_attention_bias =
        RandomTensor({c.relative_attention_buckets, c.num_heads}, seed++);
  }
  w.embeddings_ln_g = RandomGamma(h, seed++);
  w.embeddings_ln_b = RandomTensor({h}, seed++);
  for (int i = 0; i < c.num_layers; ++i) {
    EncoderLayerWeights L;
    L.attention = {RandomTensor({h, h}, seed++), RandomTensor({h}, seed++),
                   RandomTensor({h, h}, seed++), RandomTensor({h}, seed++),
                   RandomTensor({h, h}, seed++), RandomTensor({h}, seed++),
                   RandomTensor({h, h}, seed++), RandomTensor({h}, seed++)};
    L.attn_ln_g = RandomGamma(h, seed++);
    L.attn_ln_b = RandomTensor({h}, seed++);
    L.ffn_in_w = RandomTensor({f, h}, seed++);
    L.ffn_in_b = RandomTensor({f}, seed++);
    L.ffn_out_w = RandomTensor({h, f}, seed++);
    L.ffn_out_b = RandomTensor({h}, seed++);
    L.ffn_ln_g = RandomGamma(h, seed++);
    L.ffn_ln_b = RandomTensor({h}, seed++);
    w.layers.push_back(std::move(L));
  }
  return w;
}

// One model per (shape, dtype, threads), created on first use; null when the
// dtype is not supported here (error in *error). A model keeps its thread
// count, as in the server: oneDNN fixes a primitive's thread split when it is
// created, so a model whose primitives were made for 1 thread runs them on 1
// even when later told 2.
TransformerEncoder* Model(int which, DType dtype, int threads,
                          std::string* error) {
  static auto* models = new std::map<std::tuple<int, DType, int>,
                                     std::unique_ptr<TransformerEncoder>>();
  auto& m = (*models)[{which, dtype, threads}];
  if (!m) {
    LoadOptions o;
    o.dtype = dtype;
    o.threads = threads;
    auto created = TransformerEncoder::Create(
        Shape(which), RandomBertWeights(Shape(which)), o);
    if (!created.ok()) {
      *error = std::string(created.status().message());
      return nullptr;
    }
    m = std::move(*created);
  }
  return m.get();
}

// Matmul FLOPs of one packed forward over sequences of these lengths
// (projections, FFN, attention scores and values of each sequence).
double ForwardFlops(const EncoderConfig& c, const std::vector<int>& lengths) {
  const double h = c.hidden_size, f = c.intermediate_size;
  double per_layer = 0;
  for (const double n : lengths)
    per_layer += 2 * n * h * (4 * h + 2 * f) + 4.0 * n * n * h;
  return per_layer * c.num_layers;
}

// Bytes of the encoder layers' matmul weights in the model's precision (int8:
// s8 with per-channel scale and correction; the FFN output projection in bf16
// where the CPU has it, else f32: encoder_layer.cc).
double EncoderWeightBytes(const EncoderConfig& c, DType dtype) {
  const double h = c.hidden_size, f = c.intermediate_size;
  const double kept = BFloat16MatmulSupported().ok() ? 2 : 4;
  double per_layer = 0;
  switch (dtype) {
    case DType::kFloat32:
      per_layer = 4 * (4 * h * h + 2 * h * f);
      break;
    case DType::kBFloat16:
      per_layer = 2 * (4 * h * h + 2 * h * f);
      break;
    case DType::kInt8:
      per_layer = 4 * h * h + h * f + 8 * (4 * h + f) + kept * h * f;
      break;
  }
  return per_layer * c.num_layers;
}

// `count` lengths from a log-normal distribution clamped to [4, 128]
// (median ~24 tokens: short queries with a tail of paragraphs), seeded.
std::vector<int> RaggedLengths(int count) {
  std::mt19937 rng(42);
  std::lognormal_distribution<double> dist(std::log(24.0), 0.7);
  std::vector<int> lengths;
  for (int i = 0; i < count; ++i)
    lengths.push_back(std::clamp(static_cast<int>(dist(rng)), 4, 128));
  return lengths;
}

// A batch of texts of the given lengths, run the way SentenceEncoder::Embed
// runs it: ForwardPacked (no padding) + mean pooling, normalized.
class TextBatch {
 public:
  TextBatch(TransformerEncoder* model, const std::vector<int>& lengths)
      : model_(model), texts_(lengths.size()) {
    const int len = *std::max_element(lengths.begin(), lengths.end());
    for (size_t b = 0; b < lengths.size(); ++b) {
      for (int t = 0; t < lengths[b]; ++t)
        texts_[b].push_back(1000 + ((b * len + t) * 7919) % 20000);
      real_tokens_ += lengths[b];
    }
    seqs_.assign(texts_.begin(), texts_.end());
  }

  absl::Status Embed() {
    absl::Status s = model_->ForwardPacked(seqs_, &layout_, &hidden_);
    PoolPackedRows(hidden_, layout_, {}, Pooling::kMean, true, &pooled_);
    return s;
  }
  int64_t real_tokens() const { return real_tokens_; }

 private:
  TransformerEncoder* model_;
  std::vector<std::vector<int32_t>> texts_;
  std::vector<absl::Span<const int32_t>> seqs_;
  int64_t real_tokens_ = 0;
  PackedLayout layout_;
  Tensor hidden_;
  std::vector<std::vector<float>> pooled_;
};

// Runs `model` on a batch of the given lengths with `threads` compute threads
// (TextBatch) and reports the counters described at the top.
void RunEncoder(benchmark::State& state, int which, DType dtype, int threads,
                const std::vector<int>& lengths) {
  std::string error;
  TransformerEncoder* model = Model(which, dtype, threads, &error);
  if (model == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  const int batch = static_cast<int>(lengths.size());
  const int len = *std::max_element(lengths.begin(), lengths.end());
  TextBatch texts(model, lengths);
  const int64_t real_tokens = texts.real_tokens();
  DnnlContext* ctx = model->context();
  auto forward = [&] { return texts.Embed(); };
  if (!forward().ok()) state.SkipWithError("forward failed");  // warm-up
  ctx->EnableProfiling(true);
  ctx->ResetProfile();
  double seconds = 0;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(forward());
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
  }
  const double cpu_seconds = ProcessCpuSeconds() - cpu0;
  ctx->EnableProfiling(false);
  // The limit, measured right after (the load of a shared machine drifts).
  const MatmulPeak peak = OneDnnMatmulPeak(dtype, threads);
  const double iters = static_cast<double>(state.iterations());
  const double gflops =
      ForwardFlops(model->config(), lengths) * iters / seconds / 1e9;
  state.counters["tokens/s"] = real_tokens * iters / seconds;
  state.counters["GFLOP/s"] = gflops;
  state.counters["peak_GFLOP/s"] = peak.gflops;
  state.counters["peak_frac"] = peak.gflops > 0 ? gflops / peak.gflops : 0;
  // Per CPU-second: robust to other processes taking the cores.
  const double cpu_gflops = gflops * seconds / cpu_seconds;
  state.counters["tokens/cpu_s"] = real_tokens * iters / cpu_seconds;
  state.counters["cpu_peak_frac"] =
      peak.cpu_gflops > 0 ? cpu_gflops / peak.cpu_gflops : 0;
  state.counters["non_matmul"] = 1.0 - ctx->profile().matmul_seconds / seconds;
  state.counters["pad_avoided"] =
      1.0 - static_cast<double>(real_tokens) / (int64_t{batch} * len);
  state.counters["threads"] = threads;
  const double weight_bytes = EncoderWeightBytes(model->config(), dtype);
  const double flop_s = ForwardFlops(model->config(), lengths) / 1e9 /
                        std::max(peak.gflops, 1e-9);
  const double read_s =
      weight_bytes / ReadBandwidth(static_cast<int64_t>(weight_bytes), threads);
  state.counters["roofline_frac"] =
      std::max(flop_s, read_s) / (seconds / iters);
  state.counters["bw_bound"] = read_s > flop_s ? 1 : 0;
  // The kernel oneDNN picks for this batch's FFN matmul (same shape and
  // precision as inside the model).
  DnnlContext probe;
  const EncoderConfig& c = model->config();
  Linear ffn(&probe, Tensor({c.intermediate_size, c.hidden_size}), Tensor(),
             {Activation::kNone, false, dtype});
  state.SetLabel(std::string(ModelName(which)) + " " + ShortName(dtype) + " " +
                 KernelName(ffn.ImplInfo(real_tokens), dtype));
}

DType DTypeArg(int64_t v) { return static_cast<DType>(v); }

// Args: model, B, T, dtype (0 f32, 1 bf16, 2 int8), threads.
void BM_Encoder(benchmark::State& state) {
  RunEncoder(state, state.range(0), DTypeArg(state.range(3)), state.range(4),
             std::vector<int>(state.range(1), state.range(2)));
}

// 32 texts of log-normal lengths (4..128), packed without padding, vs a
// uniform batch with the same number of real tokens
// (BM_EncoderUniformOfRagged).
void BM_EncoderRagged(benchmark::State& state) {
  RunEncoder(state, kMiniLm, DTypeArg(state.range(0)), state.range(1),
             RaggedLengths(32));
}
std::vector<int> UniformOfRagged() {
  const std::vector<int> ragged = RaggedLengths(32);
  int64_t total = 0;
  for (int l : ragged) total += l;
  return std::vector<int>(32, static_cast<int>((total + 31) / 32));
}
void BM_EncoderUniformOfRagged(benchmark::State& state) {
  RunEncoder(state, kMiniLm, DTypeArg(state.range(0)), state.range(1),
             UniformOfRagged());
}

// The two batches above alternating in one loop (order swapped every
// iteration), so the drifting load of a shared machine hits both alike:
// ratio = ragged real tokens/s over uniform real tokens/s (wall time),
// cpu_ratio the same per process CPU second.
void BM_EncoderRaggedOverUniform(benchmark::State& state) {
  std::string error;
  TransformerEncoder* model =
      Model(kMiniLm, DTypeArg(state.range(0)), state.range(1), &error);
  if (model == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  TextBatch batches[2] = {{model, RaggedLengths(32)},
                          {model, UniformOfRagged()}};
  double wall[2] = {0, 0}, cpu[2] = {0, 0};
  auto timed = [&](int i) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = ProcessCpuSeconds();
    benchmark::DoNotOptimize(batches[i].Embed());
    cpu[i] += ProcessCpuSeconds() - c0;
    wall[i] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
  };
  for (TextBatch& b : batches) {  // warm-up
    if (!b.Embed().ok()) state.SkipWithError("forward failed");
  }
  int64_t n = 0;
  for (auto _ : state) {
    const int first = static_cast<int>(n++ % 2);
    timed(first);
    timed(1 - first);
  }
  auto rate = [&](int i, const double* seconds) {
    return n * batches[i].real_tokens() / seconds[i];
  };
  state.counters["ratio"] = rate(0, wall) / rate(1, wall);
  state.counters["cpu_ratio"] = rate(0, cpu) / rate(1, cpu);
  state.counters["ragged_tokens/s"] = rate(0, wall);
  state.counters["uniform_tokens/s"] = rate(1, wall);
  state.counters["threads"] = state.range(1);
}

// A cross-encoder reranking 1 query x 100 passages the way the server runs
// a Rerank call (RerankCall, bench_util.h): every pair tokenized ([CLS] query
// [SEP] passage [SEP], token types 0 then 1), then Classify in batches of 32
// (the server's default max_batch_size; packed without padding), the sigmoid of
// each logit, and the order by score. Query 7 words, passages 54: 64 tokens per
// pair with the specials (9 of type 0, 55 of type 1), 6400 per call.
constexpr int kRerankPassages = 100, kRerankBatch = 32;
constexpr int kQueryWords = 7, kPassageWords = 54;

// config.json of a BertForSequenceClassification with 1 label at shape `c`.
void WriteClassifierConfig(const std::string& path, const EncoderConfig& c) {
  nlohmann::json config = {
      {"architectures", {"BertForSequenceClassification"}},
      {"model_type", "bert"},
      {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_layers},
      {"num_attention_heads", c.num_heads},
      {"intermediate_size", c.intermediate_size},
      {"vocab_size", c.vocab_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"type_vocab_size", 2},
      {"hidden_act", "gelu"},
      {"layer_norm_eps", 1e-12},
      {"pad_token_id", 0},
      {"id2label", {{"0", "LABEL_0"}}}};
  std::ofstream(path + "/config.json") << config.dump(2);
}

// vocab.txt with bert-base-uncased's special ids ([PAD] 0, [UNK] 100, [CLS]
// 101, [SEP] 102, [MASK] 103), "[unused<i>]" below 1000 and "w<i>" from 1000:
// the layout of bench/peers/make_models.py's vocabulary, in which each word
// of RerankTexts is one token.
void WriteWordVocab(const std::string& path, int64_t size) {
  const std::map<int64_t, const char*> special = {{0, "[PAD]"},
                                                  {100, "[UNK]"},
                                                  {101, "[CLS]"},
                                                  {102, "[SEP]"},
                                                  {103, "[MASK]"}};
  std::ofstream vocab(path + "/vocab.txt");
  for (int64_t i = 0; i < size; ++i) {
    if (auto it = special.find(i); it != special.end()) {
      vocab << it->second << "\n";
    } else if (i < 1000) {
      vocab << "[unused" << i << "]\n";
    } else {
      vocab << "w" << i << "\n";
    }
  }
}

// Random weights of a 1-label BertForSequenceClassification at shape `c`, in
// the names transformers saves (core/models/bert.cc reads them), as F32
// safetensors bytes.
std::string RandomClassifierSafetensors(const EncoderConfig& c) {
  const int64_t h = c.hidden_size, f = c.intermediate_size;
  std::vector<std::pair<std::string, Tensor>> tensors;
  uint32_t seed = 1;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    const bool gamma = name.ends_with("LayerNorm.weight");
    tensors.emplace_back(name, gamma ? RandomGamma(shape[0], seed++)
                                     : RandomTensor(shape, seed++));
  };
  auto layer_norm = [&](const std::string& name) {
    add(name + ".weight", {h});
    add(name + ".bias", {h});
  };
  auto linear = [&](const std::string& name, int64_t out, int64_t in) {
    add(name + ".weight", {out, in});
    add(name + ".bias", {out});
  };
  const std::string e = "bert.embeddings.";
  add(e + "word_embeddings.weight", {c.vocab_size, h});
  add(e + "position_embeddings.weight", {c.max_position_embeddings, h});
  add(e + "token_type_embeddings.weight", {2, h});
  layer_norm(e + "LayerNorm");
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = "bert.encoder.layer." + std::to_string(l) + ".";
    for (const char* qkv : {"query", "key", "value"})
      linear(p + "attention.self." + qkv, h, h);
    linear(p + "attention.output.dense", h, h);
    layer_norm(p + "attention.output.LayerNorm");
    linear(p + "intermediate.dense", f, h);
    linear(p + "output.dense", h, f);
    layer_norm(p + "output.LayerNorm");
  }
  linear("bert.pooler.dense", h, h);
  linear("classifier", 1, h);
  std::vector<std::pair<std::string, const Tensor*>> named;
  for (const auto& [name, t] : tensors) named.emplace_back(name, &t);
  return F32Safetensors(named);
}

// A BertForSequenceClassification folder (1 label, random weights) at
// `which`'s shape with the word vocabulary above, written once per shape
// under the temp directory and removed at exit, so that the model is loaded
// through SequenceClassifier::Load, the server's path.
std::string RerankFolder(int which) {
  struct Folders {
    std::map<int, std::string> paths;
    ~Folders() {
      for (auto& [which, path] : paths) std::filesystem::remove_all(path);
    }
  };
  static Folders folders;
  std::string& path = folders.paths[which];
  if (!path.empty()) return path;
  const EncoderConfig c = Shape(which);
  path = (std::filesystem::temp_directory_path() /
          ("attnserve-bench-rerank-" + std::to_string(which) + "-" +
           std::to_string(getpid())))
             .string();
  std::filesystem::create_directories(path);
  WriteClassifierConfig(path, c);
  WriteWordVocab(path, c.vocab_size);
  std::ofstream(path + "/model.safetensors", std::ios::binary)
      << RandomClassifierSafetensors(c);
  return path;
}

// One classifier per (shape, dtype, threads), as Model() above.
SequenceClassifier* Reranker(int which, DType dtype, int threads,
                             std::string* error) {
  static auto* models = new std::map<std::tuple<int, DType, int>,
                                     std::unique_ptr<SequenceClassifier>>();
  auto& m = (*models)[{which, dtype, threads}];
  if (!m) {
    LoadOptions o;
    o.dtype = dtype;
    o.threads = threads;
    auto loaded = SequenceClassifier::Load(RerankFolder(which), o);
    if (!loaded.ok()) {
      *error = std::string(loaded.status().message());
      return nullptr;
    }
    m = std::move(*loaded);
  }
  return m.get();
}

// Args: model, dtype, threads.
void BM_Rerank(benchmark::State& state) {
  const int which = state.range(0), threads = state.range(2);
  const DType dtype = DTypeArg(state.range(1));
  std::string error;
  SequenceClassifier* model = Reranker(which, dtype, threads, &error);
  if (model == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  const RerankRequest request =
      RerankTexts(kRerankPassages, kQueryWords, kPassageWords);
  std::vector<int> lengths;
  double tokenize_s = 0;
  if (auto s = RerankCall(model, request, kRerankBatch, &lengths, &tokenize_s);
      !s.ok()) {
    state.SkipWithError(std::string(s.status().message()).c_str());  // warm-up
    return;
  }
  tokenize_s = 0;
  double seconds = 0;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(
        RerankCall(model, request, kRerankBatch, &lengths, &tokenize_s));
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
  }
  const double cpu_seconds = ProcessCpuSeconds() - cpu0;
  const MatmulPeak peak = OneDnnMatmulPeak(dtype, threads);
  const double iters = static_cast<double>(state.iterations());
  int64_t tokens = 0;
  for (int l : lengths) tokens += l;
  // FLOPs of each batch's packed forward (the head's are negligible).
  double flops = 0;
  for (size_t b = 0; b < lengths.size(); b += kRerankBatch) {
    flops += ForwardFlops(
        Shape(which),
        {lengths.begin() + b,
         lengths.begin() + std::min(lengths.size(), b + kRerankBatch)});
  }
  const double gflops = flops * iters / seconds / 1e9;
  state.counters["pairs/s"] = kRerankPassages * iters / seconds;
  // Per CPU-second (all threads): robust to other processes taking the cores.
  state.counters["pairs/cpu_s"] = kRerankPassages * iters / cpu_seconds;
  state.counters["cpu_per_wall"] = cpu_seconds / seconds;
  state.counters["tokens/s"] = tokens * iters / seconds;
  state.counters["tokens/pair"] = static_cast<double>(tokens) / kRerankPassages;
  state.counters["GFLOP/s"] = gflops;
  state.counters["peak_GFLOP/s"] = peak.gflops;
  state.counters["peak_frac"] = peak.gflops > 0 ? gflops / peak.gflops : 0;
  state.counters["tokenize_frac"] = tokenize_s / seconds;
  state.counters["threads"] = threads;
  state.SetLabel(std::string(ModelName(which)) + " " + ShortName(dtype) +
                 " batches of " + std::to_string(kRerankBatch));
}

// The oneDNN [2048]^3 matmul peak of each precision and thread count.
void BM_MatmulPeak(benchmark::State& state) {
  const DType dtype = DTypeArg(state.range(0));
  const MatmulPeak peak = OneDnnMatmulPeak(dtype, state.range(1), 2048);
  if (!peak.supported) {
    state.SkipWithError(peak.error.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(peak.gflops);
  state.counters["GFLOP/s"] = peak.gflops;
  state.counters["cpu_GFLOP/s"] = peak.cpu_gflops;
  state.counters["threads"] = state.range(1);
  state.SetLabel(std::string(ShortName(dtype)) + " " + peak.impl);
}

constexpr int kF32 = 0, kBf16 = 1, kInt8 = 2;

BENCHMARK(BM_MatmulPeak)
    ->ArgNames({"dtype", "threads"})
    ->ArgsProduct({{kF32, kBf16, kInt8}, {1, 2}})
    ->Iterations(1);

// Precision x shape x threads.
BENCHMARK(BM_Encoder)
    ->ArgNames({"model", "B", "T", "dtype", "threads"})
    ->ArgsProduct({{kMiniLm}, {1}, {16, 128}, {kF32, kBf16, kInt8}, {1, 2}})
    ->ArgsProduct({{kMiniLm}, {8}, {64}, {kF32, kBf16, kInt8}, {1, 2}})
    ->ArgsProduct({{kMiniLm}, {32}, {128}, {kF32, kBf16, kInt8}, {1, 2}})
    ->ArgsProduct({{kBertBase}, {1}, {16, 128}, {kF32, kBf16, kInt8}, {1, 2}})
    ->ArgsProduct({{kBertBase}, {8}, {64}, {kF32, kBf16, kInt8}, {1, 2}})
    ->ArgsProduct({{kBertBase}, {32}, {128}, {kF32, kBf16, kInt8}, {2}})
    ->ArgsProduct(
        {{kXlmrBase, kMpnetBase}, {1}, {128}, {kF32, kBf16, kInt8}, {2}})
    ->ArgsProduct(
        {{kXlmrBase, kMpnetBase}, {8}, {64}, {kF32, kBf16, kInt8}, {2}})
    ->ArgsProduct(
        {{kXlmrBase, kMpnetBase}, {32}, {128}, {kF32, kBf16, kInt8}, {2}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);

// Batch size vs latency / throughput (MiniLM, 32 tokens, 1 thread).
BENCHMARK(BM_Encoder)
    ->Name("BM_EncoderBatchSweep")
    ->ArgNames({"model", "B", "T", "dtype", "threads"})
    ->ArgsProduct(
        {{kMiniLm}, {1, 2, 4, 8, 16, 32, 64}, {32}, {kF32, kInt8}, {1}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.3);

// Rerank of 1 query x 100 passages per shape, precision and threads.
BENCHMARK(BM_Rerank)
    ->ArgNames({"model", "dtype", "threads"})
    ->ArgsProduct({{kMiniLm, kBertBase}, {kF32, kBf16, kInt8}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);

BENCHMARK(BM_EncoderRagged)
    ->ArgNames({"dtype", "threads"})
    ->ArgsProduct({{kF32, kBf16, kInt8}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);
BENCHMARK(BM_EncoderUniformOfRagged)
    ->ArgNames({"dtype", "threads"})
    ->ArgsProduct({{kF32, kBf16, kInt8}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);
BENCHMARK(BM_EncoderRaggedOverUniform)
    ->ArgNames({"dtype", "threads"})
    ->ArgsProduct({{kF32, kBf16, kInt8}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace
}  // namespace attnserve::bench

BENCHMARK_MAIN();
