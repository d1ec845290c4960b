#ifndef ATTNSERVE_CORE_LAYERS_DECODER_ATTENTION_H_
#define ATTNSERVE_CORE_LAYERS_DECODER_ATTENTION_H_

#include <cstdint>

namespace attnserve {

// Attention of one decoder query row over its own keys/values (its KV cache or
// its source sentence's encoder projections), all heads: out[h·hd + :] =
// softmax(q_h·K_hᵀ·scale) · V_h. keys/values are row-major with `ld` floats
// between consecutive positions and head h at column h·head_dim; `length`
// positions are attended (no masking needed: only valid positions are passed).
// scratch holds >= length floats. A plain (auto-vectorised) loop kernel: per
// row these are tiny (length ≤ a few hundred), and rows have different lengths,
// so one call per row avoids a oneDNN primitive per (length, source length)
// pair.
void AttendRow(const float* q, const float* keys, const float* values,
               int64_t ld, int length, int heads, int head_dim, float scale,
               float* scratch, float* out);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_LAYERS_DECODER_ATTENTION_H_
