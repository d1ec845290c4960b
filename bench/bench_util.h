#ifndef ATTNSERVE_BENCH_BENCH_UTIL_H_
#define ATTNSERVE_BENCH_BENCH_UTIL_H_

// Shared by the encoder / decoder benchmarks: random weights and the oneDNN
// matmul peak of each precision.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/dtype.h"
#include "core/tensor.h"

namespace attnserve {
class SequenceClassifier;
}

namespace attnserve::bench {

// N(0, scale) values, deterministic in `seed`.
Tensor RandomTensor(std::vector<int64_t> shape, uint32_t seed,
                    float scale = 0.05f);
// 1 + N(0, 0.05): LayerNorm gammas.
Tensor RandomGamma(int64_t n, uint32_t seed);

struct MatmulPeak {
  bool supported = false;
  double gflops = 0;  // best of several [n,n]x[n,n] matmuls through Linear,
                      // timed inside the oneDNN primitive (so int8's dynamic
                      // quantization of the input is not counted), wall time
  double cpu_gflops = 0;  // the same per second of process CPU time (robust
                          // when other processes share the cores)
  std::string impl;       // KernelName(): oneDNN implementation + data types
  std::string error;      // why not supported
};
// Measured now (the machine's load changes during a run, so each benchmark
// measures its own limit); the primitive and buffers are cached per (dtype,
// threads).
MatmulPeak OneDnnMatmulPeak(DType dtype = DType::kFloat32, int threads = 0,
                            int64_t n = 1024);

// Read bandwidth (bytes per second, best of `reps`) of a buffer of `bytes`
// read once per pass by `threads` threads (each a contiguous share), as a
// matmul streams its weight. The buffer is allocated and touched once per
// (bytes, threads) and kept.
double ReadBandwidth(int64_t bytes, int threads, int reps = 5);

// Process CPU time in seconds (CLOCK_PROCESS_CPUTIME_ID).
double ProcessCpuSeconds();

// "gemm:jit f32", "gemm:jit u8s8" ...: oneDNN's impl_info_str names the
// algorithm, not the data types, which differ by precision.
std::string KernelName(const std::string& impl, DType dtype);

// The precision short name used in benchmark names ("f32", "bf16", "int8").
const char* ShortName(DType dtype);

// A rerank request of 1 query and `passages` passages whose words are
// "w<id>" with id = 1000 + ((p + 1) * 1009 + t * 7919) % 20000 for word t of
// passage p (p = -1: the query), the formula of bench/peers/shapes.py
// rerank_texts: in the benchmarks' vocabularies ("w<i>" for i >= 1000) each
// word is one token, so a pair is query_words + passage_words + 3 tokens.
struct RerankRequest {
  std::string query;
  std::vector<std::string> passages;
};
RerankRequest RerankTexts(int passages, int query_words, int passage_words);

// One Rerank call as the server runs it: every (query, passage) tokenized
// (truncation on, as CrossEncoder.predict), Classify in batches of `batch`
// pairs in order (the batcher's max_batch_size; packed without padding), the
// model's rerank activation per score, then OrderByScore. Returns the best
// passage's index; *lengths gets each pair's token count and *tokenize_s
// accumulates the tokenization time.
absl::StatusOr<int> RerankCall(SequenceClassifier* model,
                               const RerankRequest& request, int batch,
                               std::vector<int>* lengths, double* tokenize_s);

}  // namespace attnserve::bench

#endif  // ATTNSERVE_BENCH_BENCH_UTIL_H_
