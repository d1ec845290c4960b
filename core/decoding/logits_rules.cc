#include "core/decoding/logits_rules.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

// log Σ exp(x[i] - max) with the max: float exp (the 58101-entry vocab is
// summed every step for every row, and the double exp was the largest cost
// outside the model), summed in double with independent partial sums.
float LogSumExpBelowMax(const float* x, int n, float* max_out) {
  float max = kNegInf;
  for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
  double partial[4] = {0, 0, 0, 0};
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; ++j) partial[j] += std::exp(x[i + j] - max);
  }
  for (; i < n; ++i) partial[0] += std::exp(x[i] - max);
  *max_out = max;
  return static_cast<float>(
      std::log((partial[0] + partial[1]) + (partial[2] + partial[3])));
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
