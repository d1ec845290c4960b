#include "core/ops/quantize.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace attnserve {

// The per-row passes below run on every int8 matmul's input and output (with
// VNNI, as long as the matmul itself): the row loops are shared by the
// model's OpenMP threads (quantize.cc is compiled with OpenMP where the
// compiler's runtime is oneDNN's, see core/CMakeLists.txt), the column loops
// are SIMD, compiled for AVX-512 and AVX2 next to the baseline (ifunc).
#ifdef ATTNSERVE_NO_IFUNC  // sanitizer and fuzz builds (see CMakeLists.txt)
#define ATTNSERVE_SIMD_CLONES
#else
#define ATTNSERVE_SIMD_CLONES \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

// Rows are shared between threads only when there is enough work per row set
// to pay for waking them.
constexpr int64_t kParallelValues = int64_t{1} << 15;

ATTNSERVE_SIMD_CLONES
U8Quant ChooseU8Quant(const float* x, int64_t n, int levels) {
  float lo = 0.f, hi = 0.f;
#pragma omp simd reduction(min : lo) reduction(max : hi)
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  U8Quant p;
  if (hi - lo <= 0.f || !std::isfinite(hi - lo)) return p;
  p.scale = (hi - lo) / static_cast<float>(levels);
  p.zero_point =
      std::clamp(static_cast<int32_t>(std::lround(-lo / p.scale)), 0, levels);
  return p;
}

ATTNSERVE_SIMD_CLONES
void QuantizeU8(const float* x, int64_t n, U8Quant p, uint8_t* q, int levels) {
  const float inv = 1.f / p.scale, zp = static_cast<float>(p.zero_point);
  const float top = static_cast<float>(levels);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    // v >= 0 after the clamp, so + 0.5 and truncation round to nearest (and
    // the loop vectorises, unlike lrintf).
    const float v = std::clamp(x[i] * inv + zp, 0.f, top);
    q[i] = static_cast<uint8_t>(static_cast<int32_t>(v + 0.5f));
  }
}

void QuantizeRowsU8(const float* x, int64_t rows, int64_t cols, int levels,
                    uint8_t* q, float* scales, int32_t* zero_points) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelValues)
  for (int64_t r = 0; r < rows; ++r) {
    const U8Quant p = ChooseU8Quant(x + r * cols, cols, levels);
    QuantizeU8(x + r * cols, cols, p, q + r * cols, levels);
    scales[r] = p.scale;
    zero_points[r] = p.zero_point;
  }
}

namespace {

ATTNSERVE_SIMD_CLONES
void DequantizeRow(float* y, int64_t cols, float s, float z,
                   const float* col_scales, const float* col_corrections,
                   const float* bias, const float* residual) {
#pragma omp simd
  for (int64_t c = 0; c < cols; ++c) {
    float v = s * (col_scales[c] * y[c] - z * col_corrections[c]);
    if (bias != nullptr) v += bias[c];
    if (residual != nullptr) v += residual[c];
    y[c] = v;
  }
}

}  // namespace

void DequantizeRows(float* y, int64_t rows, int64_t cols,
                    const float* row_scales, const int32_t* row_zero_points,
                    const float* col_scales, const float* col_corrections,
                    const float* bias, const float* residual) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelValues)
  for (int64_t r = 0; r < rows; ++r) {
    DequantizeRow(y + r * cols, cols, row_scales[r],
                  static_cast<float>(row_zero_points[r]), col_scales,
                  col_corrections, bias,
                  residual != nullptr ? residual + r * cols : nullptr);
  }
}

void QuantizeRowsS8(const float* w, int64_t rows, int64_t cols, int qmax,
                    int8_t* q, float* scales) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    float amax = 0.f;
    for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(row[c]));
    const float scale = amax > 0.f ? amax / qmax : 1.f;
    scales[r] = scale;
    for (int64_t c = 0; c < cols; ++c) {
      const long v = std::lround(row[c] / scale);
      q[r * cols + c] = static_cast<int8_t>(std::clamp<long>(v, -qmax, qmax));
    }
  }
}

Int8Levels ChooseInt8Levels() {
  using I = dnnl::cpu_isa;
  const I isa = dnnl::get_effective_cpu_isa();
  const bool vnni = isa == I::avx2_vnni || isa == I::avx512_core_vnni ||
                    isa == I::avx512_core_bf16 || isa == I::avx512_core_amx;
  if (vnni) return {127, 255};
  return {63, 255};
}

namespace {

// Σ_k x[k]·w[k] over `in` values for up to 4 rows of x (row stride `in`)
// against one weight row.
__attribute__((target("avx2"))) void DotRowsAvx2(const uint8_t* x, int64_t rows,
                                                 const int8_t* w, int64_t in,
                                                 int32_t* acc) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i sum[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256(), _mm256_setzero_si256()};
  int64_t k = 0;
  for (; k + 32 <= in; k += 32) {
    const __m256i wv =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k));
    for (int64_t r = 0; r < rows; ++r) {
      const __m256i xv =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + r * in + k));
      const __m256i pairs = _mm256_maddubs_epi16(xv, wv);
      sum[r] = _mm256_add_epi32(sum[r], _mm256_madd_epi16(pairs, ones));
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    __m128i v = _mm_add_epi32(_mm256_castsi256_si128(sum[r]),
                              _mm256_extracti128_si256(sum[r], 1));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
    int32_t total = _mm_cvtsi128_si32(v);
    for (int64_t j = k; j < in; ++j)
      total += static_cast<int32_t>(x[r * in + j]) * w[j];
    acc[r] = total;
  }
}

bool HaveAvx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}

}  // namespace

bool Int8RowsKernelApplies(Int8Levels levels) {
  return HaveAvx2() && 2 * levels.weight_max * levels.activation_max <= 32767;
}

bool Int8RowsTimesWeights(const uint8_t* x, int64_t rows, const int8_t* w,
                          int64_t out, int64_t in, Int8Levels levels,
                          float* y) {
  if (rows < 1 || rows > 4 || !Int8RowsKernelApplies(levels)) return false;
  int32_t acc[4];
  for (int64_t c = 0; c < out; ++c) {
    DotRowsAvx2(x, rows, w + c * in, in, acc);
    for (int64_t r = 0; r < rows; ++r)
      y[r * out + c] = static_cast<float>(acc[r]);
  }
  return true;
}

uint16_t FloatToBf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if (std::isnan(x)) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

void ConvertToBf16(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = FloatToBf16(x[i]);
}

std::string OneDnnIsaName() {
  using I = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case I::sse41:
      return "sse4.1";
    case I::avx:
      return "avx";
    case I::avx2:
      return "avx2";
    case I::avx2_vnni:
      return "avx2_vnni";
    case I::avx512_mic:
    case I::avx512_mic_4ops:
      return "avx512_mic";
    case I::avx512_core:
      return "avx512_core";
    case I::avx512_core_vnni:
      return "avx512_core_vnni";
    case I::avx512_core_bf16:
      return "avx512_core_bf16";
    case I::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "unknown";
  }
}

absl::Status BFloat16MatmulSupported() {
  static const absl::Status status = []() -> absl::Status {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    std::string impl;
    try {
      dnnl::engine engine(dnnl::engine::kind::cpu, 0);
      const dnnl::memory::desc src({64, 256}, dt::bf16, tag::ab),
          wei({256, 256}, dt::bf16, tag::any), dst({64, 256}, dt::f32, tag::ab);
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst),
                                      engine);
      impl = pd.impl_info_str();
    } catch (const dnnl::error& e) {
      impl.clear();
    }
    if (!impl.empty() && impl.find("ref") == std::string::npos) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "bfloat16 needs a CPU with AVX-512 BF16 or AMX; this CPU supports ",
        OneDnnIsaName(), " (oneDNN ",
        impl.empty() ? "has no bf16 matmul for it"
                     : absl::StrCat("only has the reference bf16 matmul ", impl,
                                    ", far slower than float32"),
        "). Load the model with dtype float32 or int8"));
  }();
  return status;
}

}  // namespace attnserve
