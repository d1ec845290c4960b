#ifndef ATTNSERVE_CORE_DECODING_MARIAN_DECODE_BATCH_H_
#define ATTNSERVE_CORE_DECODING_MARIAN_DECODE_BATCH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/decoding/beam_search.h"
#include "core/decoding/decode_batch.h"
#include "core/decoding/logits_rules.h"
#include "core/layers/kv_cache.h"
#include "core/models/marian.h"

namespace attnserve {

// DecodeBatch over a MarianModel: every Step() runs one batched decoder step
// over the rows of all active sequences (greedy: 1 row; beam: num_beams rows,
// only beam 0 at the first step since the other beams are identical and dead
// there), then applies the HF logits processors and greedy argmax / BeamSearch
// per sequence. Each row owns a KV-cache slot; beam reordering moves slots and
// copies a cache prefix only when a beam is continued more than once.
class MarianDecodeBatch : public DecodeBatch {
 public:
  // The model must outlive the batch; `name` (the model folder) names it in
  // error messages.
  MarianDecodeBatch(MarianModel* model, std::string name,
                    int decoder_start_token_id, LogitsRules rules);
  ~MarianDecodeBatch() override;

  absl::StatusOr<std::vector<SeqId>> Add(
      absl::Span<const absl::Span<const int32_t>> sources,
      absl::Span<const GenerationOptions> options) override;
  void Cancel(SeqId id) override;
  absl::StatusOr<std::vector<Event>> Step() override;

  int num_sequences() const override {
    return static_cast<int>(active_.size());
  }
  int num_rows() const override;

  // Validates options against the model (beam size, token budget, hypotheses
  // count).
  absl::Status ValidateOptions(const GenerationOptions& options) const;

 private:
  struct Sequence {
    SeqId id = 0;
    GenerationOptions options;
    MarianModel::CrossKv cross;
    std::vector<int> slots;  // KV-cache slot of each running row
    int generated = 0;  // tokens generated so far = cache positions minus one
    std::vector<int32_t> tokens;  // greedy
    float score = 0;              // greedy: sum of log-probs
    std::unique_ptr<BeamSearch> beam;
  };

  // Add and Step without the exception guard. AddSequences puts the new
  // sequences into *added (not active_), so a failed Add can free them.
  absl::Status AddSequences(absl::Span<const absl::Span<const int32_t>> sources,
                            absl::Span<const GenerationOptions> options,
                            std::vector<std::unique_ptr<Sequence>>* added);
  absl::StatusOr<std::vector<Event>> StepUnguarded();
  // Decoder rows this sequence contributes to the next step.
  int RowsThisStep(const Sequence& s) const;
  void AppendRows(const Sequence& s,
                  std::vector<MarianModel::DecoderRow>* rows) const;
  // A greedy step's choice: the processed logits' argmax and its log-prob.
  struct GreedyChoice {
    int token = 0;
    float log_prob = 0;
  };
  GreedyChoice ChooseGreedy(const Sequence& s, float* logits) const;
  Event AdvanceGreedy(Sequence* s, GreedyChoice choice);
  Event AdvanceBeam(Sequence* s, const float* logits, int rows);
  void ReorderSlots(Sequence* s, const std::vector<int>& source_beams);
  void Release(Sequence* s);
  std::vector<int32_t> Prefix(absl::Span<const int32_t> generated) const;

  MarianModel* model_;
  std::string name_;
  int decoder_start_;
  LogitsRules rules_;
  int vocab_;
  std::unique_ptr<KvCachePool> cache_;
  std::vector<std::unique_ptr<Sequence>> active_;
  SeqId next_id_ = 1;
  Tensor logits_;
  std::vector<float> work_;  // processed logits / log-probs
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_DECODING_MARIAN_DECODE_BATCH_H_
