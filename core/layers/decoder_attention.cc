#include "core/layers/decoder_attention.h"

#include <algorithm>
#include <cmath>

namespace attnserve {
namespace {

// Σ a[j]·b[j] with 8 independent partial sums, so the compiler vectorises it
// (a single running sum is a serial dependency chain it may not reorder).
float Dot(const float* a, const float* b, int n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int i = 0; i < 8; ++i) partial[i] += a[j + i] * b[j + i];
  }
  float dot = 0;
  for (; j < n; ++j) dot += a[j] * b[j];
  for (int i = 0; i < 8; ++i) dot += partial[i];
  return dot;
}

}  // namespace

void AttendRow(const float* q, const float* keys, const float* values,
               int64_t ld, int length, int heads, int head_dim, float scale,
               float* scratch, float* out) {
  for (int h = 0; h < heads; ++h) {
    const float* qh = q + h * head_dim;
    float max = -INFINITY;
    for (int t = 0; t < length; ++t) {
      scratch[t] = Dot(qh, keys + t * ld + h * head_dim, head_dim) * scale;
      max = std::max(max, scratch[t]);
    }
    float sum = 0;
    for (int t = 0; t < length; ++t) {
      scratch[t] = std::exp(scratch[t] - max);
      sum += scratch[t];
    }
    const float inv = 1.0f / sum;
    float* oh = out + h * head_dim;
    std::fill(oh, oh + head_dim, 0.0f);
    for (int t = 0; t < length; ++t) {
      const float p = scratch[t] * inv;
      const float* v = values + t * ld + h * head_dim;
      for (int j = 0; j < head_dim; ++j) oh[j] += p * v[j];
    }
  }
}

}  // namespace attnserve
