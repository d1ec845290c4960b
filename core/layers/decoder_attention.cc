#include "core/layers/decoder_attention.h"

#include <algorithm>
#include <cmath>

namespace attnserve {

void AttendRow(const float* q, const float* keys, const float* values,
               int64_t ld, int length, int heads, int head_dim, float scale,
               float* scratch, float* out) {
  for (int h = 0; h < heads; ++h) {
    const float* qh = q + h * head_dim;
    float max = -INFINITY;
    for (int t = 0; t < length; ++t) {
      const float* k = keys + t * ld + h * head_dim;
      float dot = 0;
      for (int j = 0; j < head_dim; ++j) dot += qh[j] * k[j];
      scratch[t] = dot * scale;
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
