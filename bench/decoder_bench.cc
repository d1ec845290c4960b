// Translation decoding throughput at the opus-mt-en-de shape (6+6 layers,
// d_model 512, 8 heads, FFN 2048, vocab 58101) with random weights: greedy
// batch 1 / 16 and beam 4 batch 1, source length 32, exactly 64 new tokens
// (</s> disabled through final_logits_bias so no row stops early; the 64th
// token is the forced </s>). For batch 1, the memory-bandwidth bound: decoder
// weight bytes read per step / memcpy bandwidth measured in the same run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <random>

#include "bench/bench_util.h"
#include "core/decoding/logits_rules.h"
#include "core/decoding/marian_decode_batch.h"
#include "core/models/marian.h"

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

MarianModel& Model() {
  static MarianModel* model = [] {
    auto m = MarianModel::Create(OpusMtShape(), RandomWeights(OpusMtShape()));
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
      std::abort();
    }
    return m->release();
  }();
  return *model;
}

// memcpy bandwidth of a 1 GiB buffer (bytes copied per second, best of 3),
// measured once.
double CopyBandwidth() {
  static const double bw = [] {
    const size_t bytes = size_t{1} << 30;
    std::unique_ptr<char[]> a(new char[bytes]), b(new char[bytes]);
    std::memset(a.get(), 1, bytes);
    std::memset(b.get(), 2, bytes);
    double best = 0;
    for (int i = 0; i < 3; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      std::memcpy(b.get(), a.get(), bytes);
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      best = std::max(best, bytes / s);
    }
    benchmark::DoNotOptimize(b.get());
    return best;
  }();
  return bw;
}

// Translates `batch` random sources of kSourceLen ids with kNewTokens new
// tokens each.
void Translate(int batch, int beam) {
  MarianModel& model = Model();
  const MarianConfig& c = model.config();
  MarianDecodeBatch decode(
      &model, c.decoder_start_token_id,
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
  while (decode.num_sequences() > 0) {
    if (!decode.Step().ok()) std::abort();
    ++steps;
  }
  if (steps != kNewTokens) {
    std::fprintf(stderr, "expected %d steps, ran %d\n", kNewTokens, steps);
    std::abort();
  }
}

void BM_Translate(benchmark::State& state, int batch, int beam) {
  Translate(
      batch,
      beam);  // warm-up: creates the oneDNN primitives for these row counts
  for (auto _ : state) Translate(batch, beam);
  const double tokens = static_cast<double>(batch) * kNewTokens;
  state.counters["tokens/s"] =
      benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["rows"] = batch * beam;
  if (batch == 1) {
    const double step_bytes =
        static_cast<double>(Model().decoder_step_weight_bytes());
    state.counters["weightMB/step"] = step_bytes / 1e6;
    state.counters["copyGB/s"] = CopyBandwidth() / 1e9;
    // A step must read every decoder weight once: bytes / bandwidth bounds
    // steps per second.
    state.counters["bound_tokens/s"] = CopyBandwidth() / step_bytes;
  }
}

BENCHMARK_CAPTURE(BM_Translate, greedy_batch1, 1, 1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Translate, greedy_batch16, 16, 1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Translate, beam4_batch1, 1, 4)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2)
    ->UseRealTime();

}  // namespace
}  // namespace attnserve::bench
