#ifndef ATTNSERVE_BENCH_BENCH_UTIL_H_
#define ATTNSERVE_BENCH_BENCH_UTIL_H_

// Shared by the encoder / decoder benchmarks: random weights and the oneDNN f32
// matmul peak.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace attnserve::bench {

// N(0, scale) values, deterministic in `seed`.
Tensor RandomTensor(std::vector<int64_t> shape, uint32_t seed,
                    float scale = 0.05f);
// 1 + N(0, 0.05): LayerNorm gammas.
Tensor RandomGamma(int64_t n, uint32_t seed);

struct MatmulPeak {
  double gflops = 0;  // best of a few runs of [n,n]x[n,n] through the Linear op
  std::string impl;   // oneDNN implementation name (impl_info_str)
};
// Measured once per process (first call), then cached.
const MatmulPeak& OneDnnMatmulPeak(int64_t n = 2048);

}  // namespace attnserve::bench

#endif  // ATTNSERVE_BENCH_BENCH_UTIL_H_
