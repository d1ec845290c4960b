#ifndef ATTNSERVE_CORE_DECODING_BEAM_SEARCH_H_
#define ATTNSERVE_CORE_DECODING_BEAM_SEARCH_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/decoding/decode_batch.h"

namespace attnserve {

struct BeamSearchOptions {
  int num_beams = 4;
  int max_new_tokens = 16;
  float length_penalty = 1.0f;
  bool early_stopping = false;
  std::vector<int32_t> eos_token_ids;
};

// Beam search for one input, step for step the vectorised
// GenerationMixin._beam_search of transformers 4.57 (_get_top_k_continuations,
// _get_running_beams_for_next_iteration, _update_finished_beams,
// _check_early_stop_heuristic, _beam_search_has_unfinished_sequences), in
// float32 like HF. The caller runs the model and feeds the processed
// log-probabilities of the running beams; Step() says which running beam each
// new beam continues (to reorder caches).
class BeamSearch {
 public:
  explicit BeamSearch(BeamSearchOptions options);

  int num_beams() const { return options_.num_beams; }
  // Tokens generated so far by each running beam (all the same length).
  int generated_length() const { return generated_; }
  absl::Span<const int32_t> running_tokens(int beam) const {
    return running_[beam].tokens;
  }
  float running_score(int beam) const { return running_[beam].score; }
  bool done() const { return done_; }

  // log_probs: [num_beams, vocab], row b = processed log-probabilities (HF:
  // logits processors applied to log_softmax(logits)) of running beam b.
  // Afterwards running beam i is source_beams[i] extended by
  // running_tokens(i).back(). Returns done().
  bool Step(const float* log_probs, int vocab, std::vector<int>* source_beams);

  // The n best finished hypotheses (n <= num_beams), best first, as HF
  // `sequences` / `sequences_scores`.
  std::vector<Hypothesis> Hypotheses(int n) const;

 private:
  struct Beam {
    std::vector<int32_t> tokens;
    float score = 0;
    bool finished = false;  // finished slots only
  };
  struct Candidate {
    float score;
    int64_t index;  // beam · vocab + token
  };

  std::vector<Candidate> TopCandidates(const float* log_probs, int vocab) const;
  void UpdateFinished(const std::vector<Candidate>& top,
                      const std::vector<bool>& hits, int vocab);
  void UpdateEarlyStopHeuristic();

  BeamSearchOptions options_;
  int beams_to_keep_;
  int generated_ = 0;
  std::vector<Beam> running_;  // num_beams
  std::vector<Beam>
      finished_;  // num_beams slots, sorted best first (HF `sequences`)
  bool heuristic_unsatisfied_ = true;
  bool done_ = false;
};

// Descending by score, ties by ascending index: the k best of `values` (k <=
// values.size()).
std::vector<int> TopKIndices(absl::Span<const float> values, int k);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_DECODING_BEAM_SEARCH_H_
