// In-process throughput of a real model folder, the reference the serving
// benchmark (bench/serving.sh) divides the gRPC throughput by: the same model,
// text, precision, compute threads and batch size as the server's batcher
// forms, but SentenceEncoder::Embed called directly (no gRPC, no batcher).
// Registered only when ATTNSERVE_BENCH_MODEL_DIR names a model folder:
//   ATTNSERVE_BENCH_MODEL_DIR  the folder (as served by attnserve-server)
//   ATTNSERVE_BENCH_TEXT       the text of every batch row (the loadgen text)
//   ATTNSERVE_BENCH_BATCHES    comma-separated batch sizes (default "32")
//   ATTNSERVE_BENCH_IDLE_US    idle time before each forward, not timed
//                              (default 0: back to back); an interactive
//                              client's pause between calls, during which
//                              OpenMP's threads may go to sleep
// Cases BM_InprocessEncode/dtype:{0 f32,2 int8}/threads:{1,2}/B:{batches}.
// Counters: texts/s, tokens/s (real tokens), tokens_per_text, load_s (model
// load + conversion, once per dtype and thread count); cpu_time is the
// process's (all threads), for texts per CPU-second.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/models/sentence_encoder.h"

namespace attnserve::bench {
namespace {

std::string Env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// The loaded model of the running case; one at a time (a BERT-base-size
// model converted to several precisions would hold GBs).
struct LoadedModel {
  DType dtype = DType::kFloat32;
  int threads = 0;
  double load_seconds = 0;
  std::unique_ptr<SentenceEncoder> encoder;
};

LoadedModel* ModelFor(DType dtype, int threads, std::string* error) {
  static LoadedModel* model = new LoadedModel;  // lives for the process
  if (model->encoder != nullptr && model->dtype == dtype &&
      model->threads == threads) {
    return model;
  }
  model->encoder.reset();
  LoadOptions options;
  options.dtype = dtype;
  options.threads = threads;
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<SentenceEncoder>> encoder =
      SentenceEncoder::Load(Env("ATTNSERVE_BENCH_MODEL_DIR", ""), options);
  if (!encoder.ok()) {
    *error = encoder.status().ToString();
    return nullptr;
  }
  model->encoder = *std::move(encoder);
  model->dtype = dtype;
  model->threads = threads;
  model->load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return model;
}

void BM_InprocessEncode(benchmark::State& state) {
  const DType dtype = static_cast<DType>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  std::string error;
  LoadedModel* model = ModelFor(dtype, threads, &error);
  if (model == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  absl::StatusOr<Encoding> encoding = model->encoder->Tokenize(
      Env("ATTNSERVE_BENCH_TEXT", "hello world"), /*truncate=*/true);
  if (!encoding.ok()) {
    state.SkipWithError(encoding.status().ToString().c_str());
    return;
  }
  const std::vector<int32_t>& ids = encoding->ids;
  const std::vector<absl::Span<const int32_t>> rows(batch, ids);
  const PoolingModes pooling = model->encoder->default_pooling();
  const bool normalize = model->encoder->default_normalize();
  const int idle_us = std::atoi(Env("ATTNSERVE_BENCH_IDLE_US", "0").c_str());
  for (auto _ : state) {
    if (idle_us > 0) {
      state.PauseTiming();
      std::this_thread::sleep_for(std::chrono::microseconds(idle_us));
      state.ResumeTiming();
    }
    absl::StatusOr<std::vector<std::vector<float>>> out =
        model->encoder->Embed(rows, pooling, normalize);
    if (!out.ok()) {
      state.SkipWithError(out.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out->data());
  }
  const double texts = static_cast<double>(state.iterations()) * batch;
  state.counters["texts/s"] =
      benchmark::Counter(texts, benchmark::Counter::kIsRate);
  state.counters["tokens/s"] = benchmark::Counter(
      texts * static_cast<double>(ids.size()), benchmark::Counter::kIsRate);
  state.counters["tokens_per_text"] = static_cast<double>(ids.size());
  state.counters["load_s"] = model->load_seconds;
}

// Registers the cases when a model folder is given (the default benchmark run
// of bench/run.sh has none and so skips them).
const bool kRegistered = [] {
  if (Env("ATTNSERVE_BENCH_MODEL_DIR", "").empty()) return false;
  std::vector<int64_t> batches;
  for (absl::string_view part :
       absl::StrSplit(Env("ATTNSERVE_BENCH_BATCHES", "32"), ',')) {
    int64_t b = 0;
    if (absl::SimpleAtoi(part, &b) && b > 0) batches.push_back(b);
  }
  if (batches.empty()) batches.push_back(32);
  // One registration per (dtype, threads), so that the cases sharing a
  // loaded model run one after the other.
  for (DType dtype : {DType::kFloat32, DType::kBFloat16, DType::kInt8}) {
    for (int threads : {1, 2}) {
      auto* b = benchmark::RegisterBenchmark("BM_InprocessEncode",
                                             BM_InprocessEncode);
      b->ArgNames({"dtype", "threads", "B"})
          ->MeasureProcessCPUTime()  // the OpenMP workers' CPU time too
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      for (int64_t batch : batches) {
        b->Args({static_cast<int64_t>(dtype), threads, batch});
      }
    }
  }
  return true;
}();

}  // namespace
}  // namespace attnserve::bench
