#ifndef ATTNSERVE_CORE_LAYERS_POSITIONS_H_
#define ATTNSERVE_CORE_LAYERS_POSITIONS_H_

#include "core/tensor.h"

namespace attnserve {

// Hugging Face MarianSinusoidalPositionalEmbedding table [num_positions, dim]:
// for i < ceil(dim/2), P[pos, i] = sin(pos / 10000^(2i/dim)) and P[pos,
// ceil(dim/2) + i] = cos(pos / 10000^(2i/dim)) (sin half then cos half, not
// interleaved), computed in float64 and rounded to float32 as HF does with
// numpy.
Tensor SinusoidalPositions(int num_positions, int dim);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_LAYERS_POSITIONS_H_
