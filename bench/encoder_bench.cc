// Encoder throughput at real model shapes with random weights, relative to the
// oneDNN f32 matmul peak measured in the same run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "bench/bench_util.h"
#include "core/models/bert.h"
#include "core/ops/linear.h"

namespace attnserve::bench {
namespace {

BertConfig Shape(int which) {
  BertConfig c;
  c.vocab_size = 30522;
  c.max_position_embeddings = 512;
  c.num_heads = 12;
  if (which == 0) {  // all-MiniLM-L6-v2
    c.num_layers = 6, c.hidden_size = 384, c.intermediate_size = 1536;
  } else {  // bert-base
    c.num_layers = 12, c.hidden_size = 768, c.intermediate_size = 3072;
  }
  return c;
}

BertWeights RandomBertWeights(const BertConfig& c) {
  const int64_t h = c.hidden_size, f = c.intermediate_size;
  uint32_t seed = 1;
  BertWeights w;
  w.word_embeddings = RandomTensor({c.vocab_size, h}, seed++);
  w.position_embeddings = RandomTensor({c.max_position_embeddings, h}, seed++);
  w.token_type_embeddings = RandomTensor({c.type_vocab_size, h}, seed++);
  w.embeddings_ln_g = RandomGamma(h, seed++);
  w.embeddings_ln_b = RandomTensor({h}, seed++);
  for (int i = 0; i < c.num_layers; ++i) {
    EncoderLayerWeights L;
    L.attention = {RandomTensor({h, h}, seed++), RandomTensor({h}, seed++),
                   RandomTensor({h, h}, seed++), RandomTensor({h}, seed++),
                   RandomTensor({h, h}, seed++), RandomTensor({h}, seed++),
                   RandomTensor({h, h}, seed++), RandomTensor({h}, seed++)};
    L.attn_ln_g = RandomGamma(h, seed++),
    L.attn_ln_b = RandomTensor({h}, seed++);
    L.ffn_in_w = RandomTensor({f, h}, seed++),
    L.ffn_in_b = RandomTensor({f}, seed++);
    L.ffn_out_w = RandomTensor({h, f}, seed++),
    L.ffn_out_b = RandomTensor({h}, seed++);
    L.ffn_ln_g = RandomGamma(h, seed++), L.ffn_ln_b = RandomTensor({h}, seed++);
    w.layers.push_back(std::move(L));
  }
  return w;
}

BertModel& Model(int which) {
  static std::map<int, std::unique_ptr<BertModel>> models;
  auto& m = models[which];
  if (!m)
    m = std::move(
        *BertModel::Create(Shape(which), RandomBertWeights(Shape(which))));
  return *m;
}

// Matmul FLOPs of one forward (projections, FFN, attention scores and values).
double ForwardFlops(const BertConfig& c, int64_t batch, int64_t len) {
  const double m = batch * len, h = c.hidden_size, f = c.intermediate_size;
  const double per_layer =
      2 * m * h * (4 * h + 2 * f) + 4.0 * batch * len * len * h;
  return per_layer * c.num_layers;
}

void BM_Encoder(benchmark::State& state) {
  const int which = state.range(0), batch = state.range(1),
            len = state.range(2);
  const MatmulPeak& peak = OneDnnMatmulPeak();
  BertModel& model = Model(which);
  std::vector<int32_t> ids(batch * len), mask(batch * len, 1);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = 1000 + (i * 7919) % 20000;
  Tensor out;
  if (!model.Forward(ids, mask, batch, len, &out).ok())
    state.SkipWithError("forward failed");
  double seconds = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(model.Forward(ids, mask, batch, len, &out));
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
  }
  const double flops =
      ForwardFlops(model.config(), batch, len) * state.iterations();
  state.counters["tokens/s"] =
      benchmark::Counter(double(batch) * len * state.iterations() / seconds);
  state.counters["GFLOP/s"] = flops / seconds / 1e9;
  state.counters["peak_frac"] = flops / seconds / 1e9 / peak.gflops;
  // The kernel oneDNN picks for this batch's FFN matmul (same shapes as inside
  // the model).
  DnnlContext ctx;
  const BertConfig& c = model.config();
  Linear ffn(&ctx, Tensor({c.intermediate_size, c.hidden_size}), Tensor(), {});
  state.SetLabel(std::string(which == 0 ? "MiniLM-L6 " : "bert-base ") +
                 ffn.ImplInfo(int64_t{batch} * len));
}

void BM_MatmulPeak(benchmark::State& state) {
  const MatmulPeak& peak = OneDnnMatmulPeak();
  for (auto _ : state) benchmark::DoNotOptimize(peak.gflops);
  state.counters["GFLOP/s"] = peak.gflops;
  state.SetLabel(peak.impl);
  static bool printed = false;
  if (!printed) {
    std::printf("oneDNN f32 matmul 2048^3: %.1f GFLOP/s, kernel %s\n",
                peak.gflops, peak.impl.c_str());
    printed = true;
  }
}

BENCHMARK(BM_MatmulPeak)->Iterations(1);
BENCHMARK(BM_Encoder)
    ->ArgNames({"model", "B", "T"})
    ->Args({0, 1, 16})
    ->Args({0, 1, 128})
    ->Args({0, 8, 64})
    ->Args({0, 32, 128})
    ->Args({1, 1, 16})
    ->Args({1, 1, 128})
    ->Args({1, 8, 64})
    ->Args({1, 32, 128})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

}  // namespace
}  // namespace attnserve::bench

BENCHMARK_MAIN();
