#ifndef ATTNSERVE_CORE_DTYPE_H_
#define ATTNSERVE_CORE_DTYPE_H_

#include <string>

namespace attnserve {

// Compute precision of a model; weights are converted once at load.
//   kFloat32: exact (the golden tests' precision).
//   kBFloat16: bf16 weights and activations in matmuls, f32 accumulation; needs
//     a oneDNN bf16 matmul kernel (AVX-512 BF16 / AMX), refused otherwise.
//   kInt8: matmul weights s8 (per output channel scales), activations u8
//     quantized dynamically per token (scale and zero point per row);
//     attention scores, softmax, LayerNorm and embeddings stay f32, and each
//     model keeps the matmuls its accuracy needs in f32, or bf16 where the
//     CPU has it (BERT: the FFN output projection; see encoder_layer.cc and
//     MarianPrecisionPlan).
enum class DType { kFloat32, kBFloat16, kInt8 };

// "float32", "bfloat16", "int8".
std::string DTypeToString(DType dtype);

struct LoadOptions {
  DType dtype = DType::kFloat32;
  // Compute (OpenMP) threads of the model's calls, applied in the calling
  // thread before every oneDNN primitive, so several workers can each own a
  // share of the cores. <= 0: the process default (OMP_NUM_THREADS, else all
  // cores). Under CPU contention also set OMP_WAIT_POLICY=PASSIVE (see
  // bench/README.md): spinning OpenMP barriers make small batches much slower.
  int threads = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_DTYPE_H_
