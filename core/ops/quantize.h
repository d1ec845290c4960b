#ifndef ATTNSERVE_CORE_OPS_QUANTIZE_H_
#define ATTNSERVE_CORE_OPS_QUANTIZE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace attnserve {

// Affine u8 quantization of activations: x ≈ scale · (q - zero_point). The
// range always contains 0, so 0 (padding, ReLU zeros) is exact.
struct U8Quant {
  float scale = 1.f;
  int32_t zero_point = 0;
};

// Parameters mapping [min(x), max(x)] of n values (one pass) to 0..levels.
U8Quant ChooseU8Quant(const float* x, int64_t n, int levels = 255);
// q[i] = clamp(round(x[i] / scale) + zero_point, 0, levels).
void QuantizeU8(const float* x, int64_t n, U8Quant p, uint8_t* q,
                int levels = 255);

// Per-row (per-token) affine u8 quantization of a [rows, cols] activation:
// row r gets its own scale and zero point (ChooseU8Quant over that row).
void QuantizeRowsU8(const float* x, int64_t rows, int64_t cols, int levels,
                    uint8_t* q, float* scales, int32_t* zero_points);

// The epilogue of a per-row-quantized int8 matmul. y holds the raw integer
// products acc[r,c] = Σ_k q_x[r,k]·q_w[c,k] (as f32); afterwards
//   y[r,c] = s_x[r]·(s_w[c]·acc[r,c] - z_x[r]·g[c]) + bias[c] (+ residual)
// with g[c] = s_w[c]·Σ_k q_w[c,k] (the zero-point correction). bias and
// residual may be null.
void DequantizeRows(float* y, int64_t rows, int64_t cols,
                    const float* row_scales, const int32_t* row_zero_points,
                    const float* col_scales, const float* col_corrections,
                    const float* bias, const float* residual);

// Symmetric per-row s8 quantization of a [rows, cols] weight (PyTorch [out,in]
// → one scale per output channel): q = round(w / scale[r]), |q| <= qmax.
void QuantizeRowsS8(const float* w, int64_t rows, int64_t cols, int qmax,
                    int8_t* q, float* scales);

// Quantization ranges safe for this CPU's int8 matmul kernels. Without VNNI
// (AVX2, AVX-512 without VNNI) oneDNN multiplies with vpmaddubsw, which adds
// two u8·s8 products in a saturating int16 (verified: 255·127 pairs saturate),
// so the product of the ranges must stay below 32767/2; with VNNI the
// products accumulate in int32 and the full ranges are used.
struct Int8Levels {
  int weight_max;      // |q_w| <= weight_max
  int activation_max;  // 0 <= q_x <= activation_max
};
Int8Levels ChooseInt8Levels();

// The integer products of a few u8 rows with an s8 weight stored [out, in]
// row-major (PyTorch layout): y[r,c] = Σ_k x[r,k]·w[c,k] as f32, the same
// values oneDNN's u8 x s8 matmul yields (AVX2 vpmaddubsw + vpmaddwd, exact
// while no pair of products exceeds int16: requires levels.weight_max ·
// levels.activation_max · 2 <= 32767). A matrix-vector kernel streaming
// each weight row once: oneDNN 2.6's int8 gemm repacks the whole weight on
// every call, which for one decoder row costs several times the weight read.
// Returns false (and does nothing) unless Int8RowsKernelApplies(levels) and
// 1 <= rows <= 4; the caller then uses the matmul.
bool Int8RowsTimesWeights(const uint8_t* x, int64_t rows, const int8_t* w,
                          int64_t out, int64_t in, Int8Levels levels, float* y);

// True when Int8RowsTimesWeights can run: AVX2, and levels that cannot
// saturate its int16 pair sums (i.e. not on VNNI CPUs, whose full ranges
// oneDNN's packed-weight kernels handle well).
bool Int8RowsKernelApplies(Int8Levels levels);

// f32 -> bf16 (round to nearest even; NaN kept NaN).
uint16_t FloatToBf16(float x);
void ConvertToBf16(const float* x, int64_t n, uint16_t* out);

// The ISA oneDNN dispatches to on this machine ("avx2", "avx512_core_amx"..).
std::string OneDnnIsaName();

// Ok when oneDNN has an optimised (non-reference) bf16 matmul on this CPU;
// otherwise FailedPrecondition saying what hardware bfloat16 needs and what
// this CPU supports. Probed once (creates a tiny primitive descriptor).
absl::Status BFloat16MatmulSupported();

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_QUANTIZE_H_
