#include "bench/bench_util.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <tuple>
#include <utility>

#include "core/models/sequence_classifier.h"
#include "core/ops/linear.h"
#include "core/ops/quantize.h"

namespace attnserve::bench {

Tensor RandomTensor(std::vector<int64_t> shape, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = dist(rng);
  return t;
}

Tensor RandomGamma(int64_t n, uint32_t seed) {
  Tensor t = RandomTensor({n}, seed);
  for (int64_t i = 0; i < n; ++i) t[i] += 1.0f;
  return t;
}

const char* ShortName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "f32";
    case DType::kBFloat16:
      return "bf16";
    case DType::kInt8:
      return "int8";
  }
  return "?";
}

std::string KernelName(const std::string& impl, DType dtype) {
  const char* types = dtype == DType::kInt8       ? "u8s8"
                      : dtype == DType::kBFloat16 ? "bf16"
                                                  : "f32";
  return impl + " " + types;
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

namespace {

struct PeakProbe {
  DnnlContext ctx;
  std::unique_ptr<Linear> linear;
  Tensor x, y;
  MatmulPeak info;
  PeakProbe(DType dtype, int threads, int64_t n)
      : ctx(threads),
        linear(std::make_unique<Linear>(
            &ctx, RandomTensor({n, n}, 1), Tensor(),
            Linear::Options{Activation::kNone, false, dtype})),
        x(RandomTensor({n, n}, 2)),
        y({n, n}) {
    info.supported = true;
    info.impl = KernelName(linear->ImplInfo(n), dtype);
    linear->Forward(x.data(), n, y.data());  // warm-up
  }
};

}  // namespace

MatmulPeak OneDnnMatmulPeak(DType dtype, int threads, int64_t n) {
  if (dtype == DType::kBFloat16) {
    const absl::Status s = BFloat16MatmulSupported();
    if (!s.ok()) {
      MatmulPeak p;
      p.error = std::string(s.message());
      return p;
    }
  }
  // Benchmarks run on one thread; the map only grows.
  static auto* probes =
      new std::map<std::tuple<int, int, int64_t>, std::unique_ptr<PeakProbe>>();
  auto& probe = (*probes)[{static_cast<int>(dtype), threads, n}];
  if (!probe) probe = std::make_unique<PeakProbe>(dtype, threads, n);
  MatmulPeak p = probe->info;
  const double flops = 2.0 * n * n * n;
  probe->ctx.EnableProfiling(true);
  for (int rep = 0; rep < 8; ++rep) {
    probe->ctx.ResetProfile();
    const double cpu0 = ProcessCpuSeconds();
    probe->linear->Forward(probe->x.data(), n, probe->y.data());
    const double cpu = ProcessCpuSeconds() - cpu0;
    p.gflops =
        std::max(p.gflops, flops / probe->ctx.profile().matmul_seconds / 1e9);
    p.cpu_gflops = std::max(p.cpu_gflops, flops / cpu / 1e9);
  }
  probe->ctx.EnableProfiling(false);
  return p;
}

namespace {

// Sums 64-bit words with 4 independent accumulators (integer adds vectorise,
// so the loop is bound by the loads).
uint64_t SumWords(const uint64_t* p, int64_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a += p[i];
    b += p[i + 1];
    c += p[i + 2];
    d += p[i + 3];
  }
  for (; i < n; ++i) a += p[i];
  return a + b + c + d;
}

}  // namespace

double ReadBandwidth(int64_t bytes, int threads, int reps) {
  threads = std::max(threads, 1);
  static auto* buffers =
      new std::map<int64_t, std::unique_ptr<uint64_t[]>>();  // grows only
  const int64_t words = std::max<int64_t>(bytes / 8, threads);
  auto& buf = (*buffers)[words];
  if (!buf) {
    buf.reset(new uint64_t[words]);
    for (int64_t i = 0; i < words; ++i) buf[i] = static_cast<uint64_t>(i);
  }
  double best = 0;
  std::vector<uint64_t> sums(threads);
  for (int rep = 0; rep < reps; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    const int64_t share = (words + threads - 1) / threads;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const int64_t begin = std::min(words, t * share);
        const int64_t end = std::min(words, begin + share);
        sums[t] = SumWords(buf.get() + begin, end - begin);
      });
    }
    for (std::thread& th : pool) th.join();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    best = std::max(best, static_cast<double>(words * 8) / s);
  }
  uint64_t total = 0;
  for (uint64_t v : sums) total += v;
  benchmark::DoNotOptimize(total);  // the reads are not optimised away
  return best;
}

RerankRequest RerankTexts(int passages, int query_words, int passage_words) {
  auto text = [](int p, int words) {
    std::string out;
    for (int t = 0; t < words; ++t) {
      if (t > 0) out += ' ';
      out += "w" + std::to_string(1000 + ((p + 1) * 1009 + t * 7919) % 20000);
    }
    return out;
  };
  RerankRequest r;
  r.query = text(-1, query_words);
  for (int p = 0; p < passages; ++p)
    r.passages.push_back(text(p, passage_words));
  return r;
}

absl::StatusOr<int> RerankCall(SequenceClassifier* model,
                               const RerankRequest& request, int batch,
                               std::vector<int>* lengths, double* tokenize_s) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Encoding> pairs;
  for (const std::string& passage : request.passages) {
    absl::StatusOr<Encoding> e =
        model->Tokenize(request.query, passage, {.truncate = true});
    if (!e.ok()) return e.status();
    pairs.push_back(*std::move(e));
  }
  *tokenize_s +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::vector<float> scores;
  lengths->clear();
  for (size_t b = 0; b < pairs.size(); b += batch) {
    std::vector<absl::Span<const int32_t>> ids, types;
    for (size_t i = b; i < std::min(pairs.size(), b + batch); ++i) {
      ids.push_back(pairs[i].ids);
      types.push_back(pairs[i].type_ids);
      lengths->push_back(static_cast<int>(pairs[i].ids.size()));
    }
    absl::StatusOr<std::vector<std::vector<float>>> logits =
        model->Classify(ids, types);
    if (!logits.ok()) return logits.status();
    for (std::vector<float>& l : *logits) {
      ApplyScoreActivation(model->rerank_activation(), absl::MakeSpan(l));
      scores.push_back(l[0]);
    }
  }
  return OrderByScore(scores).front();
}

}  // namespace attnserve::bench
