#include "bench/bench_util.h"

#include <chrono>
#include <random>

#include "core/ops/linear.h"

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

const MatmulPeak& OneDnnMatmulPeak(int64_t n) {
  static const MatmulPeak peak = [n] {
    DnnlContext ctx;
    Linear lin(&ctx, RandomTensor({n, n}, 1), Tensor(), {});
    Tensor x = RandomTensor({n, n}, 2), y({n, n});
    MatmulPeak p;
    p.impl = lin.ImplInfo(n);
    lin.Forward(x.data(), n, y.data());  // warm-up
    for (int rep = 0; rep < 3; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      lin.Forward(x.data(), n, y.data());
      double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      p.gflops = std::max(p.gflops, 2.0 * n * n * n / s / 1e9);
    }
    return p;
  }();
  return peak;
}

}  // namespace attnserve::bench
