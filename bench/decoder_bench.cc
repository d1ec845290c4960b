// Translation decoding at the opus-mt-en-de shape (6+6 layers, d_model 512,
// 8 heads, FFN 2048, vocab 58101) with random weights, per precision (f32,
// bf16 where oneDNN has a fast kernel, int8): greedy batch 1 / 16 and beam 4
// batch 1, source length 32, exactly 64 new tokens (</s> disabled through
// final_logits_bias so no row stops early; the 64th token is the forced </s>).
// Limits measured in the same run, next to each case:
//   greedy batch 1: the memory-bandwidth bound, decoder weight bytes read per
//     step (in the precision's storage) / read bandwidth of a buffer of that
//     size with the model's threads;
//   batch 16, beam 4: achieved GFLOP/s (useful FLOPs: real rows, encoder
//     included) as a fraction of the same precision's oneDNN matmul peak.
// Per-step shares from the model's profile: Linear (matmul incl. int8
// quantization), attention (KV append + per-row attention), the rest of the
// decoder step (embeddings, LayerNorm), and the overhead outside the model
// (logits rules, argmax / top-k, beam bookkeeping, KV-cache reorder,
// allocation).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>

#include "bench/bench_util.h"
#include "core/decoding/logits_rules.h"
#include "core/decoding/marian_decode_batch.h"
#include "core/models/marian.h"
#include "core/ops/compute_threads.h"
#include "core/ops/quantize.h"

namespace attnserve::bench {
namespace {

constexpr int kSourceLen = 32;
constexpr int kNewTokens = 64;

MarianConfig OpusMtShape() {
  MarianConfig c;
  c.d_model = 512;
  c.encoder_layers = c.decoder_layers = 6;
  c.encoder_heads = c.decoder_heads = 8;
  c.encoder_ffn_dim = c.decoder_ffn_dim = 2048;
  c.activation = Activation::kSwish;
  c.max_position_embeddings = 512;
  c.vocab_size = c.decoder_vocab_size = 58101;
  c.pad_token_id = c.decoder_start_token_id = 58100;
  c.eos_token_id = 0;
  return c;
}

// Random tensors for every key the model asks for; optional keys (lm_head,
// per-side embeddings, stored positions) are absent as in a real opus-mt
// checkpoint.
WeightSource RandomWeights(const MarianConfig& c) {
  WeightSource w;
  w.has = [](const std::string& name) {
    return name.find("lm_head") == std::string::npos &&
           name.find("embed_tokens") == std::string::npos &&
           name.find("embed_positions") == std::string::npos;
  };
  w.read = [c](const std::string& name,
               const std::vector<int64_t>& shape) -> absl::StatusOr<Tensor> {
    const uint32_t seed = static_cast<uint32_t>(std::hash<std::string>{}(name));
    if (name == "final_logits_bias") {
      Tensor t = RandomTensor(shape, seed);
      t[c.eos_token_id] =
          -1e4f;  // never choose </s> before the forced last step
      return t;
    }
    if (name.find("layer_norm.weight") != std::string::npos)
      return RandomGamma(shape[0], seed);
    return RandomTensor(shape, seed);
  };
  return w;
}

// The model of each precision, created on first use (bf16: null where the
// CPU has no fast kernel, *error says why).
MarianModel* Model(DType dtype, std::string* error) {
  static auto* models = new std::map<DType, std::unique_ptr<MarianModel>>();
  static auto* errors = new std::map<DType, std::string>();
  if (!models->count(dtype)) {
    LoadOptions o;
    o.dtype = dtype;
    auto m =
        MarianModel::Create(OpusMtShape(), RandomWeights(OpusMtShape()), o);
    if (m.ok()) {
      (*models)[dtype] = *std::move(m);
    } else {
      (*models)[dtype] = nullptr;
      (*errors)[dtype] = std::string(m.status().message());
    }
  }
  *error = (*errors)[dtype];
  return (*models)[dtype].get();
}

// Useful FLOPs of one Translate(batch, beam): encoder and cross K/V over the
// sources, then per step the decoder layers + LM head for every real row
// (beam: 1 row at the first step) and its attention over the cache and source.
double TranslateFlops(const MarianConfig& c, int batch, int beam) {
  const double d = c.d_model, f = c.decoder_ffn_dim, s = kSourceLen;
  const double enc = c.encoder_layers * (4 * d * d + 2 * d * f) * s +
                     c.encoder_layers * 2 * s * s * d +
                     c.decoder_layers * 2 * d * d * s;
  double dec = 0;
  for (int step = 0; step < kNewTokens; ++step) {
    const int rows = step == 0 ? 1 : beam;
    const double per_row =
        c.decoder_layers * (6 * d * d + 2 * d * f + 2 * (step + 1 + s) * d) +
        static_cast<double>(c.decoder_vocab_size) * d;
    dec += rows * per_row;
  }
  return 2 * batch * (enc + dec);
}

struct TranslateTimes {
  double total = 0;  // Add + every Step
  double steps = 0;  // Step() calls only
};

// Translates `batch` random sources of kSourceLen ids with kNewTokens new
// tokens each.
TranslateTimes Translate(MarianModel& model, int batch, int beam) {
  using Clock = std::chrono::steady_clock;
  const MarianConfig& c = model.config();
  const auto t0 = Clock::now();
  MarianDecodeBatch decode(
      &model, "the benchmark model", c.decoder_start_token_id,
      LogitsRules({{c.pad_token_id}}, c.eos_token_id, {c.eos_token_id}));
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> id(1, c.vocab_size - 2);
  std::vector<std::vector<int32_t>> sources(batch);
  for (auto& s : sources) {
    for (int i = 0; i < kSourceLen - 1; ++i) s.push_back(id(rng));
    s.push_back(c.eos_token_id);
  }
  GenerationOptions o;
  o.beam_size = beam;
  o.max_new_tokens = kNewTokens;
  const std::vector<absl::Span<const int32_t>> spans(sources.begin(),
                                                     sources.end());
  const std::vector<GenerationOptions> opts(batch, o);
  if (!decode.Add(spans, opts).ok()) std::abort();
  int steps = 0;
  TranslateTimes times;
  const auto s0 = Clock::now();
  while (decode.num_sequences() > 0) {
    if (!decode.Step().ok()) std::abort();
    ++steps;
  }
  const auto end = Clock::now();
  if (steps != kNewTokens) {
    std::fprintf(stderr, "expected %d steps, ran %d\n", kNewTokens, steps);
    std::abort();
  }
  times.total = std::chrono::duration<double>(end - t0).count();
  times.steps = std::chrono::duration<double>(end - s0).count();
  return times;
}

// Args: batch, beam, dtype (0 f32, 1 bf16, 2 int8).
void BM_Translate(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const int beam = static_cast<int>(state.range(1));
  const DType dtype = static_cast<DType>(state.range(2));
  std::string error;
  MarianModel* model = Model(dtype, &error);
  if (model == nullptr) {
    state.SkipWithError(("not available: " + error).c_str());
    for (auto _ : state) {
    }
    return;
  }
  Translate(*model, batch, beam);  // warm-up: creates the oneDNN primitives
  TranslateTimes sum;
  model->ResetProfile();
  model->EnableProfiling(true);
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    const TranslateTimes t = Translate(*model, batch, beam);
    sum.total += t.total;
    sum.steps += t.steps;
  }
  const double cpu = ProcessCpuSeconds() - cpu0;
  model->EnableProfiling(false);
  const DecoderProfile prof = model->profile();
  const double iters = static_cast<double>(state.iterations());
  const double step_s = sum.steps / iters / kNewTokens;
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(batch) * kNewTokens,
                         benchmark::Counter::kIsIterationInvariantRate);
  state.counters["rows"] = batch * beam;
  state.counters["step_ms"] = 1e3 * step_s;
  // Shares of the Step() time (the model profile's clocks run inside it).
  state.counters["linear_frac"] = prof.linear_seconds / sum.steps;
  state.counters["matmul_frac"] = prof.matmul_seconds / sum.steps;
  state.counters["attention_frac"] = prof.attention_seconds / sum.steps;
  state.counters["model_other_frac"] =
      (prof.step_seconds - prof.linear_seconds - prof.attention_seconds) /
      sum.steps;
  state.counters["overhead_frac"] = (sum.steps - prof.step_seconds) / sum.steps;
  state.counters["cpu_per_wall"] = cpu / sum.total;
  const double flops = TranslateFlops(model->config(), batch, beam);
  state.counters["GFLOP/s"] = flops * iters / sum.total / 1e9;
  const MatmulPeak peak = OneDnnMatmulPeak(dtype);
  state.counters["peak_GFLOP/s"] = peak.gflops;
  state.counters["peak_frac"] = flops * iters / sum.total / 1e9 / peak.gflops;
  state.SetLabel(peak.impl);
  if (batch == 1 && beam == 1) {
    const double bytes =
        static_cast<double>(model->decoder_step_weight_bytes());
    const double bw = ReadBandwidth(model->decoder_step_weight_bytes(),
                                    ComputeThreadsOfThisThread());
    state.counters["weightMB/step"] = bytes / 1e6;
    state.counters["readGB/s"] = bw / 1e9;
    // A step must read every decoder weight once: bytes / bandwidth bounds
    // the step time.
    state.counters["bound_step_ms"] = 1e3 * bytes / bw;
    state.counters["bound_frac"] = bytes / bw / step_s;
  }
}

void DecoderCases(benchmark::internal::Benchmark* b) {
  for (int dtype : {0, 2, 1}) {
    b->Args({1, 1, dtype});
    b->Args({16, 1, dtype});
    b->Args({1, 4, dtype});
  }
}

BENCHMARK(BM_Translate)
    ->ArgNames({"B", "beam", "dtype"})
    ->Apply(DecoderCases)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2)
    ->UseRealTime();

// Marian encoder alone (MarianModel::Encode) over a batch of 8 sources of
// mixed lengths padded to the longest (64), as a Translate request batch
// arrives: the padded rows are work a padded encoder does for nothing.
// Args: dtype (0 f32, 1 bf16, 2 int8).
void BM_MarianEncode(benchmark::State& state) {
  const DType dtype = static_cast<DType>(state.range(0));
  std::string error;
  MarianModel* model = Model(dtype, &error);
  if (model == nullptr) {
    state.SkipWithError(("not available: " + error).c_str());
    for (auto _ : state) {
    }
    return;
  }
  const std::vector<int> lengths = {64, 9, 23, 41, 5, 33, 17, 50};
  const int len = 64;
  const MarianConfig& c = model->config();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> id(1, c.vocab_size - 2);
  std::vector<int32_t> ids(lengths.size() * len, c.pad_token_id);
  int64_t tokens = 0;
  for (size_t b = 0; b < lengths.size(); ++b) {
    for (int t = 0; t < lengths[b]; ++t) ids[b * len + t] = id(rng);
    tokens += lengths[b];
  }
  Tensor out;
  if (!model->Encode(ids, lengths, len, &out).ok()) std::abort();  // warm-up
  for (auto _ : state) {
    if (!model->Encode(ids, lengths, len, &out).ok()) std::abort();
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens),
                         benchmark::Counter::kIsIterationInvariantRate);
  state.counters["padded_rows"] = static_cast<double>(lengths.size() * len);
  state.counters["real_rows"] = static_cast<double>(tokens);
}

BENCHMARK(BM_MarianEncode)
    ->ArgNames({"dtype"})
    ->Arg(0)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0)
    ->UseRealTime();

}  // namespace
}  // namespace attnserve::bench
