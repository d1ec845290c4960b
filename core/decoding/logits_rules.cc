#include "core/decoding/logits_rules.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "Eigen/Core"

namespace attnserve {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
}  // namespace

LogitsRules::LogitsRules(std::vector<std::vector<int32_t>> bad_words_ids,
                         int forced_eos_token_id,
                         std::vector<int32_t> eos_token_ids)
    : forced_eos_(forced_eos_token_id), eos_(std::move(eos_token_ids)) {
  for (auto& seq : bad_words_ids) {
    if (seq.empty()) continue;
    if (seq.size() == 1) {
      if (IsEos(seq[0]))
        continue;  // HF never bans the end of sentence this way
      single_bad_.push_back(seq[0]);
    } else {
      sequence_bad_.push_back(std::move(seq));
    }
  }
}

bool LogitsRules::IsEos(int32_t token) const {
  return std::find(eos_.begin(), eos_.end(), token) != eos_.end();
}

void LogitsRules::BanBadWords(absl::Span<const int32_t> prefix, float* scores,
                              int vocab) const {
  for (int32_t id : single_bad_) {
    if (id >= 0 && id < vocab) scores[id] = kNegInf;
  }
  for (const auto& seq : sequence_bad_) {
    const size_t n = seq.size() - 1;
    if (prefix.size() < n) continue;
    if (std::equal(seq.begin(), seq.begin() + n, prefix.end() - n) &&
        seq.back() >= 0 && seq.back() < vocab) {
      scores[seq.back()] = kNegInf;
    }
  }
}

void LogitsRules::ForceEos(float* scores, int vocab) const {
  if (forced_eos_ < 0 || forced_eos_ >= vocab) return;
  std::fill(scores, scores + vocab, kNegInf);
  scores[forced_eos_] = 0.0f;
}

void LogitsRules::Apply(absl::Span<const int32_t> prefix, bool last_step,
                        float* scores, int vocab) const {
  BanBadWords(prefix, scores, vocab);
  if (last_step) ForceEos(scores, vocab);
}

namespace {

// log Σ exp(x[i] - max) with the max. The vocab (58101 entries for opus-mt)
// is summed every step for every row: Eigen's SIMD exp (scalar expf made
// this a quarter of a batch-16 greedy step), float sums per block of 1024
// added in double.
float LogSumExpBelowMax(const float* x, int n, float* max_out) {
  using Row = Eigen::Map<const Eigen::ArrayXf>;
  const float max = n > 0 ? Row(x, n).maxCoeff() : kNegInf;
  constexpr int kBlock = 1024;
  double sum = 0;
  for (int i = 0; i < n; i += kBlock) {
    sum += (Row(x + i, std::min(kBlock, n - i)) - max).exp().sum();
  }
  *max_out = max;
  return static_cast<float>(std::log(sum));
}

}  // namespace

void LogSoftmax(const float* x, float* out, int n) {
  float max;
  const float log_sum = LogSumExpBelowMax(x, n, &max);
  for (int i = 0; i < n; ++i) out[i] = x[i] - max - log_sum;
}

float LogSoftmaxAt(const float* x, int n, int index) {
  float max;
  const float log_sum = LogSumExpBelowMax(x, n, &max);
  return x[index] - max - log_sum;
}

int Argmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

}  // namespace attnserve
